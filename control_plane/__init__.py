"""The Flask control plane: records, the public API, the web UI and the WebSocket gateway.

``control_plane.app.create_app`` builds the app; importing this package does nothing.
See docs/ARCHITECTURE.md for the layout (areas, kits, layers).
"""
