import Hummingbird

/// Times every request and counts it by route template and status.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext
    let metrics: AgentMetrics

    func handle(_ request: Request, context: AgentRequestContext, next: (Request, AgentRequestContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(context, status: response.status.code, start)
            return response
        } catch let error as any HTTPResponseError {
            record(context, status: error.status.code, start)
            throw error
        } catch {
            record(context, status: 500, start)
            throw error
        }
    }

    private func record(_ context: AgentRequestContext, status: Int, _ start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        metrics.request(route: context.endpointPath ?? "unmatched", status: status, seconds: seconds)
    }
}
