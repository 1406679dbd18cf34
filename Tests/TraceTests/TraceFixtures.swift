import Foundation
import TestSupport
@testable import Trace

enum Fixtures {
    /// Metadata with fixed host and time, so that files made from it are byte-for-byte repeatable.
    static func metadata(devices: [TraceMetadata.Device] = [.init(capacitySectors: 1 << 30, numQueues: 8)]) -> TraceMetadata {
        TraceMetadata(
            devices: devices, source: .init(kind: "synthetic", name: "test", parameters: ["seed": "1"]),
            createdAt: Date(timeIntervalSince1970: 1_800_000_000),
            host: .init(hostname: "test-host", kernel: "6.1.0", cpuModel: "test CPU", onlineCPUs: 2))
    }

    /// Random records a writer accepts: several devices and queues, every request type (unknown
    /// ones too), error statuses, completions present or absent, sequential runs, sectors up to
    /// the end of the device, equal and widely spaced timestamps.
    static func randomRecords(count: Int, devices: [TraceMetadata.Device], seed: UInt64) -> [TraceRecord] {
        var rng = SplitMix64(state: seed)
        var time = UInt64.random(in: 0...1_000_000, using: &rng)
        var nextSector: [QueueKey: UInt64] = [:]
        let types: [TraceRequestType] = [.read, .read, .write, .write, .flush, .getID, .discard, .writeZeroes, TraceRequestType(rawValue: 0xDEAD_BEEF)]
        var records: [TraceRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count {
            switch UInt64.random(in: 0..<10, using: &rng) {
            case 0: break  // same timestamp as the previous record
            case 1: time += UInt64.random(in: 0...(1 << 40), using: &rng)
            default: time += UInt64.random(in: 1...50, using: &rng) * 1000
            }
            let device = UInt16.random(in: 0..<UInt16(devices.count), using: &rng)
            let d = devices[Int(device)]
            let vq = UInt16.random(in: 0..<d.numQueues, using: &rng)
            let key = QueueKey(device: device, vq: vq)
            let type = types.randomElement(using: &rng)!
            var length: UInt32 = 0
            var sector: UInt64 = 0
            if type.addressesSectors {
                length = [512, 4096, 8192, 65536, 1 << 20, 1536].randomElement(using: &rng)!
                let sectors = UInt64(length) / 512
                if let next = nextSector[key], Bool.random(using: &rng), next + sectors <= d.capacitySectors {
                    sector = next
                } else {
                    sector = Bool.random(using: &rng) ? d.capacitySectors - sectors : UInt64.random(in: 0...(d.capacitySectors - sectors), using: &rng)
                }
                nextSector[key] = sector + sectors
            } else if type == .getID {
                length = 20
            } else if type.rawValue == 0xDEAD_BEEF {
                length = UInt32.random(in: 0...4096, using: &rng)
                sector = UInt64.random(in: 0...UInt64.max - 1, using: &rng)
            }
            let completion: UInt64? = Bool.random(using: &rng) ? time + UInt64.random(in: 0...10_000_000, using: &rng) : nil
            let status: TraceStatus = UInt8.random(in: 0..<20, using: &rng) == 0 ? .ioError : (type.rawValue == 0xDEAD_BEEF ? .unsupported : .ok)
            records.append(TraceRecord(device: device, vq: vq, type: type, sector: sector, length: length, submitNs: time,
                                       completionNs: completion, status: status))
        }
        return records
    }

    /// Writes `records` to `path` and returns the writer's totals.
    @discardableResult
    static func write(_ records: [TraceRecord], to path: String, metadata: TraceMetadata = metadata(), recordsPerChunk: Int = 65_536) throws -> TraceTotals {
        let writer = try TraceWriter(path: path, metadata: metadata, options: .init(recordsPerChunk: recordsPerChunk, fsync: .none))
        for record in records { try writer.append(record) }
        return try writer.finish()
    }

    /// Every record a cursor yields.
    static func readAll(_ reader: TraceReader, from: UInt64 = 0, to: UInt64 = .max, queues: Set<QueueKey>? = nil) throws(TraceFileError) -> [TraceRecord] {
        var cursor = reader.cursor(from: from, to: to, queues: queues)
        var out: [TraceRecord] = []
        while let r = try cursor.next() { out.append(r) }
        return out
    }

    static func bytes(of path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path)!) }

    static func writeBytes(_ bytes: [UInt8], to path: String) {
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
}
