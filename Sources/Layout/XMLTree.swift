import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A small element tree built from libxml2 (through Foundation's XMLParser) with the line of
/// each element, so that libvirt errors can point at the offending line.
final class XMLElement: @unchecked Sendable {
    let name: String
    let attributes: [String: String]
    let line: Int
    var children: [XMLElement] = []
    var text = ""

    init(name: String, attributes: [String: String], line: Int) {
        self.name = name
        self.attributes = attributes
        self.line = line
    }

    func children(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
    func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }

    static func parse(_ text: String) throws(LayoutError) -> XMLElement {
        let builder = Builder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = builder
        // Foundation on Linux may return true from parse() after an error; trust the first
        // error the delegate saw (with its position) or parserError, not the return value.
        let succeeded = parser.parse()
        if let first = builder.firstError {
            throw .malformedXML(line: max(first.line, 1), column: max(first.column, 1), describe(first.code))
        }
        if !succeeded || parser.parserError != nil {
            let code = (parser.parserError as NSError?)?.code ?? 0
            throw .malformedXML(line: max(parser.lineNumber, 1), column: max(parser.columnNumber, 1), describe(code))
        }
        guard let root = builder.root else { throw .malformedXML(line: 1, column: 1, "no root element") }
        return root
    }

    /// libxml2's error codes (as NSXMLParser reports them) for the mistakes people make by hand.
    static func describe(_ code: Int) -> String {
        switch code {
        case 4: return "the document is empty"
        case 5: return "the document ends early (an element is not closed)"
        case 9: return "invalid character"
        case 23: return "an entity reference is not terminated (write & as &amp;)"
        case 38, 39, 40: return "an attribute value must be quoted"
        case 41: return "an attribute is missing its value"
        case 73: return "'>' expected"
        case 76: return "a closing tag does not match the open element"
        case 111: return "unexpected text after the root element"
        default: return "XML syntax error (libxml2 code \(code))"
        }
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var root: XMLElement?
        var stack: [XMLElement] = []
        var firstError: (code: Int, line: Int, column: Int)?

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
            if firstError == nil {
                firstError = ((parseError as NSError).code, parser.lineNumber, parser.columnNumber)
            }
        }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            let element = XMLElement(name: name, attributes: attributes, line: parser.lineNumber)
            if let parent = stack.last { parent.children.append(element) } else if root == nil { root = element }
            stack.append(element)
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            _ = stack.popLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.text += string
        }
    }
}
