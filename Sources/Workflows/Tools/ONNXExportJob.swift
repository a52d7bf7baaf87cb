import Cluster
import Foundation
import Jobs
import Networks
import ONNX
import Support
import Configuration

/// `landscape export onnx`: a parameter vector of a run on an imported model (params.npy of
/// `train`, a path's pivot, a critical point) written back into the initialisers of the ONNX file
/// it came from (`model.onnx`), so PyTorch users load it with onnx2torch or onnxruntime. The rest of
/// the file — nodes, names, opsets — is kept; float32 initialisers round θ to float (docs/onnx.md).
public struct ONNXExportJob {
    public var configuration: RunConfiguration
    /// The parameter vector (`--params`).
    public var parameters: String
    /// The file to write (`--out`); refused if it exists.
    public var output: String

    public init(configuration: RunConfiguration, parameters: String, output: String) {
        self.configuration = configuration
        self.parameters = parameters
        self.output = output
    }

    public func run(on world: Communicator) throws {
        guard let source = configuration.model.onnx else {
            throw InputError(setting: "model.onnx", "is not set; export onnx writes parameters into the ONNX file the run imported, so give it (--onnx model.onnx, or the run's config.toml as --config)")
        }
        let imported: ONNXModel
        do { imported = try ONNXModel(contentsOf: source, loss: configuration.model.loss) } catch {
            throw InputError(setting: "model.onnx", error.description)
        }
        let θ = try ParameterFile.read(parameters, expecting: ParameterCount(m: imported.network.parameterCount), on: world, flag: "--params")
        _ = try world.agree { () throws -> Bool in
            if FileManager.default.fileExists(atPath: output) { throw InputError("--out '\(output)' already exists; choose another name or remove it") }
            let directory = (output as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            if !directory.isEmpty, !(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue) {
                throw InputError("--out '\(output)': directory '\(directory)' does not exist; create it first")
            }
            return true
        }
        // Rank 0 writes; its verdict is every rank's (a failure is one line, not an abort).
        let report = try world.agree { () throws -> String in
            let bytes: Data
            do { bytes = try imported.exported(parameters: θ) } catch { throw InputError(String(describing: error)) }
            try writeAtomically(bytes, to: output)
            var rounding = ""
            if imported.roundsToFloat32 {
                let back = try ONNXModel(serialized: bytes, source: output, loss: configuration.model.loss).parameters
                let worst = zip(back, θ).map { abs($0 - $1) / max(abs($1), .leastNormalMagnitude) }.max() ?? 0
                rounding = String(format: "; float32 initialisers: θ rounded, largest relative change %.2e", worst)
            }
            return "wrote \(output): \(imported.bindings.count) initialisers of '\(source)' replaced by '\(parameters)' (M = \(θ.count))\(rounding)"
        }
        if world.isRoot { print(report) }
    }
}
