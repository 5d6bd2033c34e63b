#!/usr/bin/python3
"""Waits until a gRPC server reports SERVING on grpc.health.v1.Health/Check (scripts/run.sh).

  grpc-health-wait.py ADDRESS SERVICE [--timeout SECONDS] [--pid PID]

Exits 0 once SERVING, 1 on timeout or when process PID has exited. Needs only python3-grpcio
(the request and response are encoded by hand, so no generated health stubs are needed).
"""
import argparse
import sys
import time

import grpc


def serving(channel, service):
    name = service.encode()
    request = b"\x0a" + bytes([len(name)]) + name if name else b""  # field 1: service
    check = channel.unary_unary("/grpc.health.v1.Health/Check")
    try:
        response = check(request, timeout=1)
    except grpc.RpcError:
        return False
    return response == b"\x08\x01"  # field 1 (status) = SERVING


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # not a zombie
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("address")
    ap.add_argument("service")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--pid", type=int, default=0)
    args = ap.parse_args()
    if len(args.service) > 127:
        sys.exit("service name too long")
    deadline = time.monotonic() + args.timeout
    with grpc.insecure_channel(args.address) as channel:
        while time.monotonic() < deadline:
            if serving(channel, args.service):
                return 0
            if args.pid and not alive(args.pid):
                return 1
            time.sleep(0.1)
    return 1


if __name__ == "__main__":
    sys.exit(main())
