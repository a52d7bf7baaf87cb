import Foundation
import Testing

/// docs/cli.md is generated from the argument parser (docs/generate-cli-reference); this keeps it
/// from drifting: a changed flag or help text without `make docs` fails here.
@Suite struct DocumentationTests {
    @Test func cliReferenceIsCurrent() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let run = try MPITestSupport.execute([repository.appendingPathComponent("docs/generate-cli-reference").path, "--check"],
                                             environment: ["LANDSCAPE": MPITestSupport.landscape], timeout: 60)
        #expect(run.status == 0, "docs/cli.md is out of date; run `make docs` (or docs/generate-cli-reference): \(run.stdout) \(run.stderr)")
    }
}
