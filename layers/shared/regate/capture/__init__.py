"""Capture: Pastell documents (pull through API v2, push through depot ZIPs) into the raw zone."""
