#!/usr/bin/python3
"""A development webhook receiver for duban-worker's webhook channel (scripts/run.sh starts it).

Checks each request's signature like a real receiver should: X-Duban-Signature must be the
lower-case hex HMAC-SHA256 of "<X-Duban-Timestamp>.<body>" under the shared secret. Accepted
messages get 200 and one JSON line in the output file; a bad signature gets 401 (the worker then
records the reminder DEAD, "http 401"). De-duplicate on X-Duban-Delivery-Id: a redelivery after a
crash carries the same id. Standard library only; not for production.

  webhook-sink.py --listen 127.0.0.1:7105 --secret-file data/webhook.secret --out sink.jsonl
"""
import argparse
import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:7105", help="HOST:PORT")
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--out", required=True, help="JSON lines file (appended)")
    args = ap.parse_args()
    with open(args.secret_file, "rb") as f:
        secret = f.read().strip()
    host, port = args.listen.rsplit(":", 1)
    out = open(args.out, "a", encoding="utf-8")
    lock = threading.Lock()
    seen = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the worker's curl handles expect

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ts = self.headers.get("X-Duban-Timestamp", "")
            want = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(want, self.headers.get("X-Duban-Signature", ""))
            delivery_id = self.headers.get("X-Duban-Delivery-Id", "")
            try:
                message = json.loads(body)
            except ValueError:
                message = None
            with lock:
                repeat = delivery_id in seen
                if ok:
                    seen.add(delivery_id)
                line = {"received": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "path": self.path, "delivery_id": delivery_id, "signature_ok": ok,
                        "repeat": repeat, "message": message}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                out.flush()
            status = 200 if ok else 401
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, fmt, *a):  # one line per request on stderr
            sys.stderr.write("webhook-sink: %s %s\n" % (self.address_string(), fmt % a))

    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("LISTENING %s:%d" % server.server_address[:2], flush=True)
    server.serve_forever()
    server.server_close()
    out.close()


if __name__ == "__main__":
    main()
