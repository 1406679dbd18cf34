/// Failures a test makes the io_uring backend see, without a mock of io_uring: the backend
/// asks `submitResult(call)` before each io_uring_submit (`call` counts from 1) and, when it
/// answers a negative errno, takes that as the call's result instead of making the call.
/// Everything else (the ring, the kernel, the completions) is real.
///
/// Production code passes nil; the cost is one optional check per batch, not per request.
public struct IOURingFaults: Sendable {
    public var submitResult: @Sendable (_ call: Int) -> Int32?

    public init(submitResult: @escaping @Sendable (_ call: Int) -> Int32?) {
        self.submitResult = submitResult
    }
}
