import Foundation
import Testing
import TestSupport

/// `vqtrace report` on real catalogs: what the loader makes of stored runs and sweeps.
@Suite("Reports loaded from the catalog", .serialized)
struct ReportLoaderTests {
    @Test("the trace's device capacity is shown in binary units (1 GiB, 100 GiB, 512 MiB), not as 0 GiB",
          arguments: [(UInt64(1) << 30, "1 GiB"), (UInt64(100) << 30, "100 GiB"), (UInt64(512) << 20, "512 MiB")])
    func capacity(bytes: UInt64, shown: String) throws {
        let fixture = try CatalogFixture(capacityBytes: bytes)
        let id = try fixture.run("single", iops: 1000)
        let json = try fixture.reportJSON(["--runs", "\(id)"])
        let trace = try #require(json["trace"] as? [String: Any])
        #expect(trace["device"] as? String == "vda, \(shown), 4 vqs")
    }
}
