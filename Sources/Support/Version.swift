/// The version of Landscape: `landscape --version` and the `version` of every run header.
public let landscapeVersion = "0.1.0"
