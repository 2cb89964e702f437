import Logging
import OTel
import ServiceLifecycle

/// OpenTelemetry tracing for `scutum serve` (`SCUTUM_TRACING=otlp`).
enum TraceExport {
    /// Bootstraps the process's tracer with an OTLP/HTTP exporter configured by the standard `OTEL_*`
    /// variables of `environment` (the env file and the process environment, as `NodeConfiguration`
    /// read them), and returns the service that batches and sends spans. Logs and metrics stay with
    /// the gateway's own handlers (stderr/JSON and Prometheus).
    static func bootstrap(environment: [String: String], logger: Logger) throws -> some Service {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "scutum"
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        let service = try OTel.bootstrap(configuration: configuration, environment: environment)
        logger.info("tracing: exporting spans over OTLP/HTTP (OTEL_EXPORTER_OTLP_* configure where)")
        return service
    }
}
