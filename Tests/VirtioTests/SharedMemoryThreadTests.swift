import CLinuxShim
import Foundation
import Testing
@testable import Virtio

/// A driver thread and a device thread share one queue through a memfd mapped twice (two host
/// addresses for the same pages, as a vhost-user peer would map it) and pass 1M requests.
@Suite("Two threads, one queue in shared memory")
struct SharedMemoryThreadTests {
    static let requests = 1_000_000
    static let queueSize = 256

    final class Outcome: @unchecked Sendable {
        var deviceError: String?
        var driverError: String?
        var deviceReceived = 0
        var driverReaped = 0
        var kicks = 0
        var interrupts = 0
    }

    @Test("1M requests: no loss, no duplication, no reordering of chain contents", arguments: [false, true])
    func millionRequests(eventIndex: Bool) throws {
        let driverSide = try GuestMemoryMapping(size: 4 << 20)
        // The device maps the same memfd at another host address.
        let deviceHost = try #require(mmap(nil, driverSide.size, PROT_READ | PROT_WRITE, MAP_SHARED, driverSide.fd, 0))
        #expect(deviceHost != MAP_FAILED)
        defer { munmap(deviceHost, driverSide.size) }
        let deviceMemory = try GuestMemory(regions: [GuestMemoryRegion(guestAddress: 0, size: UInt64(driverSide.size), host: deviceHost)])
        #expect(deviceHost != driverSide.base)

        let features: VirtioFeatures = eventIndex ? [.version1, .eventIndex] : [.version1]
        let layout = try SplitVirtqueueLayout.contiguous(queueSize: Self.queueSize, at: 0)
        let driver = try SplitVirtqueueDriver(layout: layout, memory: driverSide.memory, features: features)
        let device = try SplitVirtqueueDevice(layout: layout, memory: deviceMemory, features: features)
        let outcome = Outcome()
        let total = Self.requests
        let q = Self.queueSize
        let slotBase: UInt64 = 1 << 20
        let slotSize: UInt64 = 64  // header 16 | payload 16 | status 1

        let deviceWork: @Sendable () -> Void = {
            let chains = UnsafeMutableBufferPointer<ChainSegment>.allocate(capacity: q)
            let io = UnsafeMutableBufferPointer<IOSegment>.allocate(capacity: 8)
            defer { chains.deallocate(); io.deallocate() }
            let parser = BlockRequestParser(config: VirtioBlkConfig(capacitySectors: UInt64.max >> 10))
            var expected: UInt64 = 0
            var idle = 0
            while expected < UInt64(total) {
                do {
                    guard let chain = try device.pop(into: chains) else {
                        if device.publishUsed() { outcome.interrupts += 1 }
                        idle += 1
                        if idle & 63 == 0 { sched_yield() }
                        continue
                    }
                    let request = try parser.parse(chain, into: io)
                    // The header's sector carries the sequence number; the payload repeats it mangled.
                    let payload = io[0].base!.loadUnaligned(as: UInt64.self)
                    let check = io[0].base!.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    guard request.type == .write, request.sector == expected, payload == expected ^ 0x5A5A_5A5A_5A5A_5A5A,
                          check == expected &* 0x9E37_79B9_7F4A_7C15 else {
                        outcome.deviceError = "request \(expected): got sector \(request.sector) payload \(payload) check \(check)"
                        return
                    }
                    request.status.pointee = UInt8(truncatingIfNeeded: expected)
                    device.pushUsed(head: request.head, length: request.usedLength)
                    expected += 1
                    if expected & 15 == 0, device.publishUsed() { outcome.interrupts += 1 }
                } catch {
                    outcome.deviceError = "\(error)"
                    return
                }
            }
            if device.publishUsed() { outcome.interrupts += 1 }
            outcome.deviceReceived = Int(expected)
        }
        let driverWork: @Sendable () -> Void = {
            var buffers = [DriverBuffer](repeating: DriverBuffer(address: 0, length: 0, writable: false), count: 3)
            var sent = 0
            var reaped = 0
            var idle = 0
            while reaped < total {
                var added = false
                while sent < total && driver.freeCount >= 3 {
                    let slot = slotBase + UInt64(sent % q) * slotSize
                    let host = driverSide.memory.translate(slot, length: slotSize)!
                    VirtioBlk.storeHeader(type: VirtioBlkRequestType.write.rawValue, sector: UInt64(sent), to: host)
                    host.storeBytes(of: UInt64(sent) ^ 0x5A5A_5A5A_5A5A_5A5A, toByteOffset: 16, as: UInt64.self)
                    host.storeBytes(of: UInt64(sent) &* 0x9E37_79B9_7F4A_7C15, toByteOffset: 24, as: UInt64.self)
                    host.storeBytes(of: 0xFF, toByteOffset: 32, as: UInt8.self)
                    buffers[0] = DriverBuffer(address: slot, length: 16, writable: false)
                    buffers[1] = DriverBuffer(address: slot + 16, length: 16, writable: false)
                    buffers[2] = DriverBuffer(address: slot + 32, length: 1, writable: true)
                    guard buffers.withUnsafeBufferPointer({ driver.add($0, token: UInt64(sent)) }) != nil else { break }
                    sent += 1
                    added = true
                }
                if added, driver.publish() { outcome.kicks += 1 }
                var progressed = false
                do {
                    while let used = try driver.reap() {
                        let slot = slotBase + (used.token % UInt64(q)) * slotSize
                        let status = driverSide.memory.translate(slot + 32, length: 1)!.load(as: UInt8.self)
                        guard used.token == UInt64(reaped), status == UInt8(truncatingIfNeeded: reaped), used.length == 1 else {
                            outcome.driverError = "completion \(reaped): token \(used.token) status \(status) length \(used.length)"
                            return
                        }
                        reaped += 1
                        progressed = true
                    }
                } catch {
                    outcome.driverError = "\(error)"
                    return
                }
                if !progressed && !added {
                    idle += 1
                    if idle & 63 == 0 { sched_yield() }
                    if outcome.deviceError != nil { return }
                }
            }
            outcome.driverReaped = reaped
        }
        let done = DispatchGroup()
        done.enter(); done.enter()
        Thread.detachNewThread { deviceWork(); done.leave() }
        Thread.detachNewThread { driverWork(); done.leave() }
        // Generous: the test asserts correctness, not speed; a stuck ring fails instead of hanging.
        let finished = done.wait(timeout: .now() + 300)
        #expect(finished == .success)
        #expect(outcome.deviceError == nil)
        #expect(outcome.driverError == nil)
        #expect(outcome.deviceReceived == total)
        #expect(outcome.driverReaped == total)
        #expect(driver.freeCount == Self.queueSize)
        #expect(device.inFlightCount == 0)
        #expect(device.brokenReason == nil)
    }
}
