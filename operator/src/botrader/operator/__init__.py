"""Botrader Kubernetes operator (Kopf). The reconcilers land with the operator issue."""
