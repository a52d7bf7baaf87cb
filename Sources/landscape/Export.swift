import ArgumentParser
import Cluster
import Configuration
import Jobs
import Workflows

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Results in other tools' formats.",
        subcommands: [ExportONNX.self])
}

struct ExportONNX: MPICommand {
    static let configuration = CommandConfiguration(
        commandName: "onnx",
        abstract: "Write a parameter vector into the initialisers of the run's ONNX model (model.onnx).",
        discussion: """
            For runs on a model imported from ONNX (model.onnx, docs/onnx.md): the parameter vector --params (a run's \
            params.npy, a path's pivot, a critical point) replaces the file's initialisers, and the result is written \
            to --out, every node, name and opset kept, so that onnxruntime or onnx2torch load it as they loaded the \
            original. Float32 initialisers round the values to float (the largest change is printed).
            """)

    @Option(help: ArgumentHelp("The run configuration (TOML), e.g. the run's config.toml; only model.onnx matters.", valueName: "run.toml")) var config: String?
    @Option(help: ArgumentHelp("The parameter vector, e.g. a run's params.npy.", valueName: "P.npy")) var params: String
    @Option(help: ArgumentHelp("The ONNX file to write (must not exist).", valueName: "out.onnx")) var out: String
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func run(on runtime: MPIRuntime) throws {
        let configuration = try RunConfiguration.load(path: config, overrides: settings.overrides, on: runtime.world)
        try ONNXExportJob(configuration: configuration, parameters: params, output: out).run(on: runtime.world)
    }
}
