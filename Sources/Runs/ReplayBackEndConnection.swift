import BlockBackend
import Engine
import Foundation
import Layout
import Replay
import Trace
import VhostUser

extension VhostUserReplayBackEnd {
    /// Connects a replay of `trace` under `layout` to `choice`, as `replay` and `sweep` do. A
    /// back-end vqtrace starts on the target (qsd, serve) gets the target prepared first, as
    /// the engine's would be (created, filled with data, checked), when `prepareTarget` is set;
    /// a layout qemu-storage-daemon cannot express is refused before the target is touched.
    /// The back-end's errors come back as `ReplayError` (usage mistakes as `.usage`).
    public static func connect(_ choice: VhostUserBackEndChoice, trace: TraceLocation, layout: String, target: String?, options: ReplayOptions,
                               safety: DeviceSafety?, pin: PinPolicy = .none, sparseTarget: Bool, prepareTarget: Bool, fillProgress: TargetFill.ProgressHandler?,
                               shouldStop: (@Sendable () -> Bool)?) throws -> (backEnd: VhostUserReplayBackEnd, preparation: TargetPreparation?) {
        let reader = try trace.open()
        let queues = Int(reader.metadata.devices.first?.numQueues ?? 1)
        let parsed = try LayoutSpec.parse(layout, numQueues: queues)
        let writes = ReplayRunner.writes(reader, options: options)
        try refuseInexpressible(choice, layout: parsed)
        var preparation: TargetPreparation?
        if case .socket(let path) = choice { preparation = .backEnd(socket: path) }
        if choice.servesTarget, prepareTarget, let target {
            preparation = try ReplayRunner.prepareTarget(trace: trace, target: target, options: options, safety: safety,
                                                         sparseTarget: sparseTarget, fillProgress: fillProgress, shouldStop: shouldStop)
        }
        do {
            let backEnd = try VhostUserReplayBackEnd(choice, trace: reader.metadata, copies: options.vms, layout: parsed, target: target, writable: writes,
                                                     safety: safety ?? DeviceSafety(), pin: pin)
            return (backEnd, preparation)
        } catch {
            throw error.isUsage ? ReplayError.usage(error.description) : ReplayError(error.description)
        }
    }

    /// Refuses (`ReplayError.usage`) a layout `choice` cannot express: qemu-storage-daemon
    /// serves an export from one IOThread.
    public static func refuseInexpressible(_ choice: VhostUserBackEndChoice, layout: IOThreadLayout) throws {
        guard choice == .qemuStorageDaemon else { return }
        do { _ = try QemuStorageDaemon.commandLine(for: layout) } catch { throw ReplayError.usage(error.description) }
    }
}
