/// What each `vqtrace bench --component` measures, for its `--help`.
public enum BenchmarkHelp {
    public static let components = """
        --component engine (the default with --target or --backend): one vCPU \
        driver thread per vq keeps --qd requests in flight from a fio-like pattern; \
        IOThreads serve the vqs as the LAYOUT maps them and send the requests to \
        the backend (io_uring or threads on the --target file with O_DIRECT, or \
        null). The table shows IOPS, bandwidth, completion latency and what each \
        IOThread did; --json gives fio's JSON shape (jobs[0].read.iops, bw_bytes, \
        clat_ns.percentile) plus iothreads and vqs arrays; --compare-fio runs fio \
        with the same pattern on the same file in the same run. A file target is \
        filled with data before the run (once: later runs find no holes or \
        unwritten extents and go straight on); the "target" line says how it was \
        prepared.

        --component virtqueue: one thread plays both sides of a split virtqueue. \
        Each round trip adds a 3-descriptor virtio-blk read (header, 4 KiB data, \
        status), publishes it, pops and parses it on the device side, completes it, \
        publishes the used ring and reaps it on the driver side. No I/O: this is the \
        ring's own cost, the floor under every request vqtrace replays.

        --component trace: the .vqt codec on the OLTP model's stream (8 vqs: \
        log writes each followed by a FLUSH, checkpoint bursts, 8 KiB page reads and writes on a \
        100 GiB device): bytes per request with and without completion times against \
        the same requests as a zstd-compressed fio v3 iolog, encode and decode rates \
        on one core, and (with --window-requests) the time to open a large trace and \
        read a 1-second window of it.

        --component catalog: runs stored per second (8 vqs with latency histograms, 3 \
        IOThreads, a 60 s timeline, one transaction each) on a temporary SQLite catalog \
        and on --catalog when it is a PostgreSQL URL (runs are added to it); with \
        --window-requests, a trace that large is pushed there and 1-second windows are \
        read from it and from the local file (ms each, chunks fetched).

        --component replay: open-loop replay fidelity. The OLTP model's 8-vq stream at 20k and \
        100k IOPS (for --duration) is replayed on the null backend under LAYOUT with \
        --driver-threads auto and then per-vq (or only the setting given), and the same \
        requests as a fio v3 iolog through fio --read_iolog with its null engine: how long \
        each took against the recorded span (drift), and the lateness of vqtrace's \
        submissions against their deadlines when the device was told (p50, p99, p99.9). \
        --competing-load N runs N busy-loop processes beside it all (a host that is never \
        idle); --realtime runs the vCPU drivers under SCHED_FIFO.

        --component import: vqtrace import of a fio v3 iolog and of blkparse text (Q and C \
        lines), both written from the same stream of the OLTP model of --requests requests: lines \
        per second and MB/s, beside wc -l on the same file (the speed of just finding the \
        lines).
        """
}
