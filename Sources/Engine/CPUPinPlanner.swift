import Foundation
import Layout

/// Where each thread of an engine goes, by a `PinPolicy` and the layout's own CPU sets. One
/// planner serves `Engine.run` and `EngineSession` alike, so the IOThreads of a served guest
/// land where those of a replay with the same layout and policy would.
///
/// Order matters for `.list`: ask for the IOThreads first (in layout order), then the vCPU
/// drivers; each thread that the policy places takes the next CPU of the list, cycling.
struct CPUPinPlanner {
    let policy: PinPolicy
    /// CPUs online; `.auto` counts IOThreads down from the last and drivers up from the first.
    let online: Int
    private var listCursor = 0

    init(policy: PinPolicy, online: Int = ProcessInfo.processInfo.activeProcessorCount) {
        precondition(online >= 1, "no CPU online")
        self.policy = policy
        self.online = online
    }

    /// The CPUs of the IOThread at layout position `index`; a CPU set the layout gives wins.
    mutating func iothread(_ index: Int, layoutCPUs: CPUSet?) -> [Int] {
        if let layoutCPUs { return layoutCPUs.cpus }
        switch policy {
        case .none: return []
        case .auto: return [online - 1 - index % online]
        case .list(let list): return [nextListed(list)]
        }
    }

    /// The CPUs of the `index`-th vCPU driver thread. Under `.auto` it runs on `iothreadCPUs`,
    /// those of the IOThread that serves its first vq, when that IOThread is pinned: a kick and
    /// an interrupt between threads on one CPU are a context switch, while across CPUs each is
    /// a wake-up of an idle CPU, which on a virtual machine costs 200–400 µs (measured with
    /// `bench --pairs`: 1 vq at QD32 on a file reached 0.71× fio's IOPS with the driver on
    /// another CPU, 1.09× beside its IOThread; the null backend 1.1M against 1.8M IOPS). A
    /// driver that polls for completions spins, and takes a CPU of its own: the caller passes
    /// no `iothreadCPUs` then.
    mutating func vcpuDriver(_ index: Int, iothreadCPUs: [Int] = []) -> [Int] {
        switch policy {
        case .none: return []
        case .auto: return iothreadCPUs.isEmpty ? [index % online] : iothreadCPUs
        case .list(let list): return [nextListed(list)]
        }
    }

    private mutating func nextListed(_ list: [Int]) -> Int {
        precondition(!list.isEmpty, "an empty --pin list")
        defer { listCursor += 1 }
        return list[listCursor % list.count]
    }
}

extension PinPolicy {
    /// Where the first IOThread of a layout runs under this policy (a CPU set the layout gives
    /// wins), as `Engine.run` and `EngineSession` place it: for a caller that puts other threads
    /// beside it (the drivers of a replay through an in-process `serve`).
    public func firstIOThreadCPUs(layoutCPUs: CPUSet?) -> [Int] {
        var planner = CPUPinPlanner(policy: self)
        return planner.iothread(0, layoutCPUs: layoutCPUs)
    }
}
