import Foundation
import Virtio

/// Bench options that map onto ring features.
public struct VirtioFeaturesOption: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let eventIndex = VirtioFeaturesOption(rawValue: 1)
    public static let indirect = VirtioFeaturesOption(rawValue: 2)
}

/// Errors the benchmark reports instead of numbers, because numbers from a broken ring lie.
public enum BenchmarkError: Error, CustomStringConvertible {
    case ringStalled(String)
    public var description: String {
        switch self {
        case let .ringStalled(why): return "virtqueue benchmark stopped: \(why)"
        }
    }
}

/// One thread drives both ends of one split virtqueue; measures the ring's per-request cost.
public final class VirtqueueRoundTripBenchmark {
    public struct Result: Sendable {
        public var roundTrips: Int
        public var seconds: Double
        public var roundTripsPerSecond: Double { Double(roundTrips) / seconds }
    }

    private let mapping: GuestMemoryMapping
    private let driver: SplitVirtqueueDriver
    private let device: SplitVirtqueueDevice
    private let parser: BlockRequestParser
    private let chainStorage: UnsafeMutableBufferPointer<ChainSegment>
    private let ioStorage: UnsafeMutableBufferPointer<IOSegment>
    private let buffers: UnsafeMutableBufferPointer<DriverBuffer>

    public init(queueSize: Int, features option: VirtioFeaturesOption) throws {
        var features: VirtioFeatures = [.version1]
        if option.contains(.eventIndex) { features.insert(.eventIndex) }
        if option.contains(.indirect) { features.insert(.indirectDescriptors) }
        mapping = try GuestMemoryMapping(size: 4 << 20)
        let layout = try SplitVirtqueueLayout.contiguous(queueSize: queueSize, at: 0)
        let indirectBase: UInt64 = 1 << 20
        driver = try SplitVirtqueueDriver(layout: layout, memory: mapping.memory, features: features,
                                          indirectTables: indirectBase, indirectTableEntries: 4)
        device = try SplitVirtqueueDevice(layout: layout, memory: mapping.memory, features: features)
        parser = BlockRequestParser(config: VirtioBlkConfig(capacitySectors: 1 << 21))
        chainStorage = .allocate(capacity: queueSize)
        ioStorage = .allocate(capacity: 254)
        let header: UInt64 = 2 << 20
        let data: UInt64 = header + 4096
        let status: UInt64 = data + 4096
        VirtioBlk.storeHeader(type: VirtioBlkRequestType.read.rawValue, sector: 8, to: try mapping.memory.pointer(header, length: 16))
        buffers = .allocate(capacity: 3)
        buffers[0] = DriverBuffer(address: header, length: 16, writable: false)
        buffers[1] = DriverBuffer(address: data, length: 4096, writable: true)
        buffers[2] = DriverBuffer(address: status, length: 1, writable: true)
        _ = driver.enableInterrupts()
    }

    deinit {
        chainStorage.deallocate()
        ioStorage.deallocate()
        buffers.deallocate()
    }

    public func run(roundTrips: Int) throws -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let chainBuffers = UnsafeBufferPointer(buffers)
        for i in 0..<roundTrips {
            guard driver.add(chainBuffers, token: UInt64(i)) != nil else { throw BenchmarkError.ringStalled("no free descriptors") }
            _ = driver.publish()  // one thread plays both sides: the kick decision is made, not delivered
            guard let chain = try device.pop(into: chainStorage) else { throw BenchmarkError.ringStalled("device saw no chain") }
            let request = try parser.parse(chain, into: ioStorage)
            request.complete(request.rejection?.status ?? .ok)
            device.pushUsed(head: request.head, length: request.usedLength)
            _ = device.publishUsed()
            guard let used = try driver.reap(), used.token == UInt64(i) else { throw BenchmarkError.ringStalled("used element lost") }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Result(roundTrips: roundTrips, seconds: seconds)
    }
}
