"""A stand-in for an app's api, for rollout tests: answers its release name
on /, and /health and /health/ready. A release built with a FAIL_IF file
fails /health/ready on hosts where the file that FAIL_IF names exists."""

import http.server
import json
import os
import pathlib
import sys

RELEASE = pathlib.Path.cwd().resolve().name
FAIL_IF = pathlib.Path("FAIL_IF")


def ready():
    if not FAIL_IF.exists():
        return True
    return not pathlib.Path(FAIL_IF.read_text().strip()).exists()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health/ready" and not ready():
            self.answer(503, {"ready": False, "release": RELEASE})
        elif self.path in ("/", "/health", "/health/ready"):
            self.answer(200, {"release": RELEASE, "host": os.uname().nodename})
        else:
            self.answer(404, {})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
