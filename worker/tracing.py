"""Optional OpenTelemetry tracing (ESCALATION_TRACING=true; `pip install .[tracing]`).

Spans for workflow starts, signals, updates, workflow runs and activities, through
temporalio.contrib.opentelemetry. The Temporal interceptor carries the trace context in
Temporal headers, so a caller's span (e.g. the API's start_workflow) is the parent of the
workflow's and the activities' spans. Spans are exported over OTLP/HTTP to the collector named
by the standard OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318); the service name
comes from OTEL_SERVICE_NAME when set.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import TracingInterceptor

_configured = False


def configure_tracer_provider(service_name: str) -> None:
    """Install a global tracer provider exporting over OTLP (once per process)."""
    global _configured
    if _configured:
        return
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True


def tracing_interceptor(service_name: str) -> TracingInterceptor:
    configure_tracer_provider(service_name)
    return TracingInterceptor()
