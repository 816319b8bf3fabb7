import Foundation

/// Where a `warden score` run writes, and how what it wrote takes the output's place.
///
/// - The output is never the input: ``prepare(output:input:resume:format:)`` refuses an output that is the input
///   file (the same device and inode: the same path, a symbolic link to it or a hard link), before anything is
///   opened for writing.
/// - A run writes `OUTPUT.partial` beside the output (symbolic links resolved, so that a link keeps pointing at
///   the real file) and renames it to the output when it ends: the output is only ever replaced by a run that
///   went through its input. A run that fails leaves the output as it was and removes its partial file; an
///   interrupted or killed run leaves what it wrote in `OUTPUT.partial`, which `--resume` continues.
/// - `--resume` continues `OUTPUT.partial` when there is one, else the output. Without earlier scoring failures it
///   appends to that file; with some, it rewrites it through a new file (see ``PreviousOutput``), so that the
///   failed records are scored again in place.
/// - Standard output, devices and FIFOs are written in place, as they are.
public final class OutputFile {
    public enum Mode: Equatable, Sendable {
        /// `-o -`.
        case standardOutput
        /// Not a regular file (a device, a FIFO): written directly, never renamed.
        case inPlace
        /// Written from the start into ``partial``.
        case fresh
        /// `--resume`: appended to ``source`` after its last complete record (at this length).
        case append(from: Int64)
        /// `--resume` with earlier scoring failures: ``source`` is copied into ``writePath`` with them scored again.
        case rewrite
    }

    /// The output path as given ("-": standard output).
    public let output: String
    /// The file the output ends up in: `output` with symbolic links resolved.
    public let target: String
    /// Where an unfinished run's records are: `target` + `.partial`.
    public let partial: String
    public let mode: Mode
    /// The file this run writes.
    public let writePath: String
    /// `--resume`: the earlier output this run continues (``partial`` when it exists, else ``target``).
    public let source: String?
    /// `--resume`: where ``source`` stops.
    public let resumePoint: ResumePoint?
    private let format: OutputFormat
    private var mayRemove = false

    private init(
        output: String, target: String, mode: Mode, writePath: String, source: String?, resumePoint: ResumePoint?,
        format: OutputFormat
    ) {
        self.output = output
        self.target = target
        partial = target + ".partial"
        self.mode = mode
        self.writePath = writePath
        self.source = source
        self.resumePoint = resumePoint
        self.format = format
    }

    /// Plans the output of a run from `input` ("-": standard input) to `output` ("-": standard output) and checks
    /// that it can be written (creating the file this run will write, if missing, so that a bad path fails before
    /// the model loads). With `resume`, finds where the earlier output stops.
    /// - Throws: ``ScoreIOError`` when the output is the input, is a directory, cannot be written, or (`resume`)
    ///   is not earlier output of `warden score`.
    public static func prepare(output: String, input: String, resume: Bool, format: OutputFormat) throws -> OutputFile {
        let inputIdentity = input == "-" ? FileIdentity(descriptor: STDIN_FILENO) : FileIdentity(path: input)
        let shownInput = input == "-" ? "(standard input)" : input
        func refuseIfInput(_ path: String?, shown: String) throws {
            let identity = path.map { FileIdentity(path: $0) } ?? FileIdentity(descriptor: STDOUT_FILENO)
            guard let inputIdentity, identity == inputIdentity else { return }
            throw ScoreIOError("the output \(shown) is the input file \(shownInput); write the results to another file")
        }
        if output == "-" {
            try refuseIfInput(nil, shown: "(standard output)")
            return OutputFile(output: output, target: output, mode: .standardOutput, writePath: output, source: nil, resumePoint: nil, format: format)
        }
        var info = stat()
        if stat(output, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw ScoreIOError("cannot write the output \(output): it is a directory") }
            if resume { throw ScoreIOError("cannot resume into \(output): it is not a regular file") }
            try RecordWriter.checkWritable(path: output)
            return OutputFile(output: output, target: output, mode: .inPlace, writePath: output, source: nil, resumePoint: nil, format: format)
        }
        let target = resolvingSymbolicLinks(output)
        let partial = target + ".partial"
        let rescored = partial + ".new"
        for path in [target, partial, rescored] { try refuseIfInput(path, shown: output) }

        var plan: OutputFile
        let source = resume ? [partial, target].first(where: { FileIdentity(path: $0) != nil }) : nil
        if let source {
            let point = try ResumePoint.find(path: source, format: format)
            if point.failedToScore == 0 {
                plan = OutputFile(
                    output: output, target: target, mode: .append(from: point.validLength), writePath: source,
                    source: source, resumePoint: point, format: format)
            } else {
                // Rewrite into the partial file, or into a new one beside it when the partial file is the source.
                plan = OutputFile(
                    output: output, target: target, mode: .rewrite, writePath: source == partial ? rescored : partial,
                    source: source, resumePoint: point, format: format)
            }
        } else {
            plan = OutputFile(
                output: output, target: target, mode: .fresh, writePath: partial, source: nil,
                resumePoint: resume ? ResumePoint(lastRecord: 0, validLength: 0) : nil, format: format)
        }
        let existed = FileManager.default.fileExists(atPath: plan.writePath)
        try RecordWriter.checkWritable(path: plan.writePath)
        if case .append = plan.mode {} else { plan.mayRemove = !existed }
        return plan
    }

    /// The writer of this run's records (the CSV header included where the file starts).
    public func makeWriter(layout: OutputLayout) throws -> RecordWriter {
        switch mode {
        case .append(let from):
            return try RecordWriter(path: writePath, layout: layout, appendFrom: from)
        case .fresh, .rewrite:
            mayRemove = true  // truncated now: nothing earlier is lost by removing it
            return try RecordWriter(path: writePath, layout: layout)
        case .standardOutput, .inPlace:
            return try RecordWriter(path: writePath, layout: layout)
        }
    }

    /// The earlier output whose failed records this run scores again (``Mode/rewrite`` only).
    public func previousOutput() throws -> PreviousOutput? {
        guard mode == .rewrite, let source, let resumePoint else { return nil }
        return try PreviousOutput(path: source, format: format, validLength: resumePoint.validLength)
    }

    /// Where the records of an interrupted run are, when that is not the output itself.
    public var unfinishedPath: String? {
        switch mode {
        case .standardOutput, .inPlace: nil
        case .fresh, .rewrite: partial
        case .append: source == partial ? partial : nil
        }
    }

    /// Ends the run whose records `writer` wrote (and flushed): a run that went through its input replaces the
    /// output; an interrupted one leaves its records in ``partial``.
    /// - Throws: ``ScoreIOError`` when the file cannot be synced or renamed.
    public func finish(_ writer: RecordWriter, interrupted: Bool) throws {
        mayRemove = false
        switch mode {
        case .standardOutput, .inPlace:
            return
        case .fresh, .append:
            guard writePath == partial, !interrupted else { return }
            try writer.synchronize()
            try replace(target, with: partial)
        case .rewrite:
            try writer.synchronize()
            if !interrupted {
                try replace(target, with: writePath)
                if writePath != partial { unlink(partial) }
            } else if writePath != partial {
                // The earlier records were all copied (see ScoreJob): the new file holds all the old one did.
                try replace(partial, with: writePath)
            }
        }
    }

    /// Removes the file this run created or truncated and did not finish (a run that failed), so that a failed
    /// run leaves nothing behind but what was there before it.
    public func abandon() {
        if mayRemove { unlink(writePath) }
        mayRemove = false
    }

    /// Renames `file` to `destination`, keeping the permissions of a file already there.
    private func replace(_ destination: String, with file: String) throws {
        var existing = stat()
        if stat(destination, &existing) == 0 { chmod(file, existing.st_mode & 0o7777) }
        guard rename(file, destination) == 0 else { throw ScoreIOError.posix("move the finished output into place at", destination) }
    }

    /// `path` with the symbolic links of its last component resolved (a link to a link too, or a dangling one:
    /// the file it names), so that renaming onto the result replaces the file and not the link.
    static func resolvingSymbolicLinks(_ path: String) -> String {
        var current = path
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK,
                let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: current)
            else { return current }
            current =
                destination.hasPrefix("/")
                ? destination
                : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(destination).path
        }
        return current
    }
}

/// A regular file's device and inode: the same file whatever the path, link or descriptor that reaches it.
struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64

    /// The file `path` names (following symbolic links); nil when it does not exist or is not a regular file.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    /// The file open as `descriptor`; nil when it is not a regular file (a terminal, a pipe, /dev/null).
    init?(descriptor: Int32) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        self.init(info)
    }

    private init?(_ info: stat) {
        guard (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
