"""Starts each build RUNS times and reports process start -> first 200 from GET /health (median, p95, ratio to plain)."""
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_health(directory, run):
    port = free_port()
    keys = tempfile.mkdtemp(prefix="orderprocessing-keys-")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DOTNET_ROOT": os.environ.get("DOTNET_ROOT", "/usr/share/dotnet"),
        # What every function has on Lambda (template.yaml Globals), on a free port.
        "ASPNETCORE_URLS": f"http://127.0.0.1:{port}",
        "POWERTOOLS_SERVICE_NAME": "orderprocessing",
        "STAGE": "dev",
        "Logging__LogLevel__Default": "Warning",
        "AWS_REGION": "us-east-1",
        # Lambda gives every function its role's credentials in the environment; the app builds its AWS clients
        # from them at start (nothing is called: /health touches no table).
        "AWS_ACCESS_KEY_ID": "ASIABENCHCOLDSTART00",
        "AWS_SECRET_ACCESS_KEY": "cold-start-bench-not-a-secret",
        "AWS_SESSION_TOKEN": "cold-start-bench",
        "AWS_LAMBDA_FUNCTION_NAME": f"cold-start-{run}",
        "AUTH_LOCAL_KEY_DIR": keys,
    }
    executable = os.path.join(directory, "OrderProcessing.Functions")
    started = time.perf_counter()
    process = subprocess.Popen([executable], cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{executable} exited with {process.returncode} before answering /health")
            if time.perf_counter() - started > 60:
                raise RuntimeError(f"{executable} did not answer /health within 60 s")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    return (time.perf_counter() - started) * 1000
            except OSError:
                time.sleep(0.002)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main():
    runs = int(sys.argv[1])
    builds = [b.split("=", 1) for b in sys.argv[2:]]
    results = {name: [] for name, _ in builds}
    for name, directory in builds:
        first_health(directory, "warm-up")  # page cache: every variant starts from the same warm disk
    # Round-robin, so that a busy spell of the machine falls on every variant alike.
    for run in range(runs):
        for name, directory in builds:
            try:
                results[name].append(first_health(directory, run))
            except RuntimeError as e:
                print(f"{name}: {e}", file=sys.stderr)
    results = {name: values for name, values in results.items() if values}
    plain = statistics.median(results["plain"]) if "plain" in results else None
    print(f"| build | runs | median (ms) | p95 (ms) | median vs plain |")
    print(f"|---|---|---|---|---|")
    for name, values in results.items():
        median = statistics.median(values)
        ratio = f"{median / plain:.2f}x" if plain else "-"
        print(f"| {name} | {len(values)} | {median:.0f} | {p95(values):.0f} | {ratio} |")


if __name__ == "__main__":
    main()
