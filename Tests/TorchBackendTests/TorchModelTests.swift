import Foundation
import Testing
import TorchBackend
import WardenCore

@Suite("TorchScript through the C shim", .timeLimit(.minutes(5)))
struct TorchModelTests {
    @Test("the fixture model matches Python's outputs within 1e-5 at every golden shape")
    func parityWithPython() throws {
        let golden = try Fixtures.golden()
        #expect(golden.cases.count >= 3)
        let model = try TorchModel(path: Fixtures.tinyModel)
        #expect(model.outputWidth == golden.labels)
        for item in golden.cases {
            let output = try model.forward(
                inputIDs: item.input_ids, attentionMask: item.attention_mask,
                batch: item.batch, length: item.length)
            #expect(output.count == item.output.count)
            let worst = zip(output, item.output).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-5, "B=\(item.batch) L=\(item.length): max |Δ| \(worst)")
        }
    }

    @Test("a missing file is a typed load error naming the path")
    func missingFile() {
        let path = "/nonexistent/warden/model.pt"
        let error = #expect(throws: TorchError.self) { try TorchModel(path: path) }
        #expect(error?.code == .load)
        #expect(error?.path == path)
        #expect(error?.description.contains(path) == true)
    }

    @Test("a file that is not TorchScript is a typed load error with libtorch's message")
    func notTorchScript() {
        let error = #expect(throws: TorchError.self) { try TorchModel(path: Fixtures.badModel("not_torchscript.pt")) }
        #expect(error?.code == .load)
        #expect(error?.message.isEmpty == false)
    }

    @Test("a forward with the wrong signature is refused at load")
    func wrongSignature() {
        let error = #expect(throws: TorchError.self) { try TorchModel(path: Fixtures.badModel("wrong_signature.pt")) }
        #expect(error?.code == .signature)
        #expect(error?.message.contains("input_ids, attention_mask") == true)
    }

    @Test("a forward with the wrong output shape is refused at load")
    func wrongOutputShape() {
        let error = #expect(throws: TorchError.self) { try TorchModel(path: Fixtures.badModel("wrong_output.pt")) }
        #expect(error?.code == .output)
        #expect(error?.message.contains("[1, labels]") == true)
    }

    @Test("inputs that do not match the stated shape are refused before reaching libtorch")
    func mismatchedShape() throws {
        let model = try TorchModel(path: Fixtures.tinyModel)
        let error = #expect(throws: TorchError.self) {
            try model.forward(inputIDs: [101, 102, 103], attentionMask: [1, 1, 1], batch: 2, length: 2)
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test("an input longer than the model's positions is a forward error, and the model keeps working")
    func forwardErrorIsRecoverable() throws {
        let model = try TorchModel(path: Fixtures.tinyModel)
        let tooLong = 200  // the fixture has 128 position embeddings
        let error = #expect(throws: TorchError.self) {
            try model.forward(
                inputIDs: Array(repeating: 101, count: tooLong), attentionMask: Array(repeating: 1, count: tooLong),
                batch: 1, length: tooLong)
        }
        #expect(error?.code == .forward)
        let output = try model.forward(inputIDs: [101, 102], attentionMask: [1, 1], batch: 1, length: 2)
        #expect(output.count == 3)
    }
}

@Suite("TorchBackend on its own thread", .timeLimit(.minutes(5)))
struct TorchBackendTests {
    @Test("many concurrent tasks through one backend get the same answers as sequential calls")
    func concurrentCallsMatchSequential() async throws {
        let golden = try Fixtures.golden()
        let backend = try await TorchBackend.load(path: Fixtures.tinyModel, expectedLabels: 3)
        let batches = golden.cases.map {
            TokenBatch(count: $0.batch, length: $0.length, inputIDs: $0.input_ids, attentionMask: $0.attention_mask)
        }
        var sequential: [[Float]] = []
        for batch in batches { sequential.append(try await backend.score(batch)) }
        let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for round in 0..<200 {
                let index = round % batches.count
                group.addTask { (index, try await backend.score(batches[index])) }
            }
            var collected: [(Int, [Float])] = []
            for try await result in group { collected.append(result) }
            return collected
        }
        #expect(results.count == 200)
        for (index, output) in results {
            #expect(output == sequential[index])
        }
    }

    @Test("a manifest naming another label count is refused at load")
    func labelCountMismatch() async {
        await #expect(throws: TorchError.self) { try await TorchBackend.load(path: Fixtures.tinyModel, expectedLabels: 6) }
    }

    @Test("runtime settings are applied and readable")
    func runtimeSettings() throws {
        try TorchRuntime.apply(TorchRuntimeSettings(intraOpThreads: 1, blasThreads: 1))
        #expect(TorchRuntime.intraOpThreads == 1)
        if let blas = TorchRuntime.blasThreads { #expect(blas == 1) }
        #expect(!TorchRuntime.blasDescription.isEmpty)
    }
}

@Suite("Several TorchBackends (workers) at once", .timeLimit(.minutes(5)))
struct TorchWorkersTests {
    @Test("two backends over one file, scoring concurrently from many tasks, match sequential answers")
    func twoWorkersMatchSequential() async throws {
        let golden = try Fixtures.golden()
        let workers = [try await TorchBackend.load(path: Fixtures.tinyModel), try await TorchBackend.load(path: Fixtures.tinyModel)]
        let batches = golden.cases.map {
            TokenBatch(count: $0.batch, length: $0.length, inputIDs: $0.input_ids, attentionMask: $0.attention_mask)
        }
        var sequential: [[Float]] = []
        for batch in batches { sequential.append(try await workers[0].score(batch)) }
        let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for round in 0..<300 {
                let index = round % batches.count
                let worker = workers[round % 2]
                group.addTask { (index, try await worker.score(batches[index])) }
            }
            var collected: [(Int, [Float])] = []
            for try await result in group { collected.append(result) }
            return collected
        }
        #expect(results.count == 300)
        for (index, output) in results { #expect(output == sequential[index]) }
    }
}
