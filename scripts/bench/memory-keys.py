#!/usr/bin/env python3
"""The agent's memory holding N keys (issue 12): N active keys (100 custom
providers x N/100 scopes), each read once through the agent
(GET /v1/keys/{provider}?scope=…) so that its cache holds every answer; then
the agent's memory, split into what it allocated (RssAnon) and the pages of
its binary it has mapped (RssFile: shared with every keywarden process, and
reclaimable).

    python3 scripts/bench/memory-keys.py path/to/keywarden [N=10000] [CONNECTIONS=16]

Prints progress, then one line of key=value pairs (sizes in KiB):
    keys=10000 served_ok=10000 idle_rss=… rss=… hwm=… anon=… file=… idle_anon=…
"""
import concurrent.futures, os, secrets, shutil, socket, string, subprocess, sys, tempfile, time

BIN = os.path.abspath(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
CONNECTIONS = int(sys.argv[3]) if len(sys.argv) > 3 else 16
PROVIDERS = 100
ALPHABET = string.ascii_letters + string.digits

work = tempfile.mkdtemp(prefix="kw-memory-keys-")
env = dict(os.environ, KEYWARDEN_HOME=f"{work}/vault", KEYWARDEN_KEYFILE=f"{work}/vault.key",
           KEYWARDEN_SOCKET=f"{work}/agent.sock", KEYWARDEN_LOG_LEVEL="warning",
           KEYWARDEN_STATE_DIR=f"{work}/state")  # the throwaway vault's audit anchor goes with it
providers = [f"p{i:03d}" for i in range(PROVIDERS)]
scopes = [f"s{i:03d}" for i in range((N + PROVIDERS - 1) // PROVIDERS)]
reads = [(p, s) for s in scopes for p in providers][:N]
agent = None


def run(*args):
    subprocess.run([BIN, *args], env=env, check=True, stdout=subprocess.DEVNULL)


def memory(pid):
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status") if ":" in line)
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}


def read_keys(chunk):
    """Reads each key once over one keep-alive connection; returns how many were answered 200."""
    connection = socket.socket(socket.AF_UNIX)
    connection.connect(env["KEYWARDEN_SOCKET"])
    answers = connection.makefile("rb")
    ok = 0
    for provider, scope in chunk:
        connection.sendall(f"GET /v1/keys/{provider}?scope={scope} HTTP/1.1\r\nHost: agent\r\n\r\n".encode())
        status, length = answers.readline(), 0
        while (line := answers.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        answers.read(length)
        ok += b" 200 " in status
    connection.close()
    return ok


try:
    started = time.time()
    run("init", "--keyfile", env["KEYWARDEN_KEYFILE"], *[arg for scope in scopes for arg in ("--scope", scope)])
    for provider in providers:
        run("provider", "add", provider, "--base-url", f"https://{provider}.example", "--env", f"{provider.upper()}_API_KEY")
    for scope in scopes:
        path = f"{work}/{scope}.env"
        with open(path, "w") as file:
            for provider in providers:
                file.write(f"{provider.upper()}_API_KEY={provider}_{''.join(secrets.choice(ALPHABET) for _ in range(48))}\n")
        run("import", path, "--scope", scope)
        os.unlink(path)
    print(f"setup: {len(reads)} keys ({len(providers)} providers x {len(scopes)} scopes) in {time.time() - started:.0f} s", flush=True)

    agent = subprocess.Popen([BIN, "serve"], env=env, stderr=subprocess.DEVNULL)
    while not os.path.exists(env["KEYWARDEN_SOCKET"]):
        time.sleep(0.05)
    time.sleep(0.3)
    idle = memory(agent.pid)
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(CONNECTIONS) as pool:
        ok = sum(pool.map(read_keys, [reads[i::CONNECTIONS] for i in range(CONNECTIONS)]))
    print(f"read {len(reads)} keys once through the agent in {time.time() - started:.1f} s", flush=True)
    held = memory(agent.pid)
    print(f"keys={len(reads)} served_ok={ok} idle_rss={idle['VmRSS']} rss={held['VmRSS']} hwm={held['VmHWM']} "
          f"anon={held['RssAnon']} file={held['RssFile']} idle_anon={idle['RssAnon']}")
finally:
    if agent:
        agent.terminate()
        agent.wait()
    shutil.rmtree(work, ignore_errors=True)
