import Logging
import OTel
import ServiceLifecycle
import Tracing

/// OpenTelemetry tracing for `scutum serve` (`SCUTUM_TRACING=otlp`).
enum TraceExport {
    /// Bootstraps the process's tracer with an OTLP/HTTP exporter configured by the standard
    /// `OTEL_*` variables, and returns the service that batches and sends spans. Logs and metrics stay
    /// with the gateway's own handlers (stderr/JSON and Prometheus).
    static func bootstrap(logger: Logger) throws -> any Service {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "scutum"
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        // gRPC is not built in (see Package.swift); OTEL_EXPORTER_OTLP_PROTOCOL may choose http/json.
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        logger.info("tracing: exporting spans over OTLP/HTTP (OTEL_EXPORTER_OTLP_* configure where)")
        return backend.service
    }
}
