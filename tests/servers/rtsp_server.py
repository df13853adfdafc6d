#!/usr/bin/python3
"""A real RTSP server for the stream tests: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0 and python3-gi) serving one H.264 MP4 at rtsp://127.0.0.1:PORT/stream,
from its first frame for each client, in real time, over TCP or UDP as the client asks.

    rtsp_server.py PORT FILE

Prints "ready" once it listens; runs until killed.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    port, path = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    # Each client gets its own pipeline, so its frame 0 is the file's frame 0.
    factory.set_shared(False)
    factory.set_launch(f'( filesrc location="{path}" ! qtdemux ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )')
    server.get_mount_points().add_factory("/stream", factory)
    if server.attach(None) == 0:
        print("cannot listen", flush=True)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
