import BlockBackend

/// Something that builds IOThreads over backends of one concrete type: it gets a function that
/// makes a backend for an IOThread of `slots` slots. Generic rather than existential, so an
/// IOThread's per-request backend calls stay direct.
protocol BackendConsumer {
    associatedtype Output
    func with<Backend: BlockBackend>(_ makeBackend: (_ slots: Int) throws -> Backend) throws -> Output
}

/// The one place a `BackendKind` becomes backends, for `Engine.run` and `EngineSession`.
enum BackendFactory {
    /// Hands `consumer` the backend maker for `kind`.
    /// - Parameters:
    ///   - target: where io_uring and threads send requests (unused by the null backend).
    ///   - workerThreads: workers per IOThread for the threads backend.
    static func build<Consumer: BackendConsumer>(_ kind: BackendKind, target: BlockTarget?, workerThreads: Int,
                                                 for consumer: Consumer) throws -> Consumer.Output {
        switch kind {
        case .null:
            return try consumer.with { slots in NullBackend(slots: slots) }
        case .ioUring:
            guard let target else { throw EngineError.configuration("the io_uring backend needs a target") }
            return try consumer.with { slots in try IOURingBackend(target: target, slots: slots) }
        case .qsd:
            throw EngineError.configuration("the qsd backend is qemu-storage-daemon over vhost-user; `vqtrace replay --backend qsd` starts it, the engine's own IOThreads cannot run it")
        case .threads:
            guard let target else { throw EngineError.configuration("the threads backend needs a target") }
            return try consumer.with { slots in try ThreadPoolBackend(target: target, slots: slots, threads: workerThreads) }
        }
    }
}
