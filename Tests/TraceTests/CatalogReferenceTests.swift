import Catalog
import Foundation
import Testing
import TestSupport

/// A trace reference that names nothing is the user's mistake, and says what was looked for.
@Suite("Trace references that name nothing")
struct CatalogReferenceTests {
    @Test("a missing file or unknown name is a usage mistake (exit 2); a path says there is no such file")
    func notFound() throws {
        let dir = ScratchDirectory()
        let catalog = try TraceCatalog(path: dir.file("catalog.sqlite"))
        let file = #expect(throws: CatalogError.self) { try catalog.find("missing.vqt") }
        #expect(file?.isUsageMistake == true)
        #expect(file?.description.contains("no such file, and no catalogued trace of that name") == true)
        let name = #expect(throws: CatalogError.self) { try catalog.find("oltp") }
        #expect(name?.isUsageMistake == true && name?.description == "no trace \"oltp\" in the catalog (see `vqtrace traces list`)")
        #expect(CatalogError.database("x").isUsageMistake == false)
    }
}
