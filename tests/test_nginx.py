"""The example reverse-proxy configuration (deploy/nginx.conf) run by Debian's nginx in front of the site:
client addresses, https redirects and static files, with only its ports and paths changed."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from conftest import PATIENCE, ROOT, LiveServer, free_port

import dailypapers.web

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
STATIC = Path(dailypapers.web.__file__).parent / "static"
PUBLIC = "https://papers.example.org"


@pytest.fixture
def nginx_site(demo_copy, tmp_path):
    if not Path(NGINX).exists():
        if os.environ.get("DAILYPAPERS_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is missing (DAILYPAPERS_REQUIRE_NGINX=1)")
        pytest.skip("nginx is missing: apt-get install nginx-light to run the reverse-proxy tests")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=papers.example.org",
                    "-keyout", tmp_path / "key.pem", "-out", tmp_path / "cert.pem"], check=True, capture_output=True)  # fmt: skip
    with LiveServer(demo_copy, forwarded_allow_ips="127.0.0.1", public_url=PUBLIC, signups_per_hour=1) as app:
        http, https = free_port(), free_port()
        site = (ROOT / "deploy" / "nginx.conf").read_text()
        for example, here in {
            "listen 80;": f"listen 127.0.0.1:{http};",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
            "https://$host$request_uri": f"https://$host:{https}$request_uri",
            "server 127.0.0.1:8000;": f"server 127.0.0.1:{app.port};",
            "/etc/letsencrypt/live/papers.example.org/fullchain.pem": str(tmp_path / "cert.pem"),
            "/etc/letsencrypt/live/papers.example.org/privkey.pem": str(tmp_path / "key.pem"),
            "/opt/dailypapers/.venv/lib/python3.11/site-packages/dailypapers/web/static/": f"{STATIC}/",
        }.items():
            assert example in site, example
            site = site.replace(example, here)
        site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
        (tmp_path / "site.conf").write_text(site)
        temp = "\n".join(f"{kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        # Workers run as this test's user (nginx started by root would use nobody, who may not read a checkout
        # in a private folder); a user that is not root keeps its own and nginx ignores the line.
        (tmp_path / "nginx.conf").write_text(f"user {getpass.getuser()};\ndaemon off;\npid {tmp_path / 'nginx.pid'};\n"
                                             f"error_log {tmp_path / 'error.log'};\n"
                                             f"events {{}}\nhttp {{\ninclude /etc/nginx/mime.types;\naccess_log off;\n{temp}\n"
                                             f"include {tmp_path / 'site.conf'};\n}}\n")  # fmt: skip
        check = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], stderr=subprocess.PIPE)
        try:
            _wait_until_listening(https)
            yield app, f"http://127.0.0.1:{http}", f"https://127.0.0.1:{https}"
        finally:
            nginx.terminate()
            nginx.wait(timeout=PATIENCE)


def _wait_until_listening(port: int) -> None:
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            httpx.get(f"https://127.0.0.1:{port}/static/style.css", verify=False, timeout=5)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)


def client(base: str, address: str) -> httpx.Client:
    """A browser on the site's pages, connecting from `address` (any 127.x address is this machine)."""
    return httpx.Client(base_url=base, verify=False, timeout=PATIENCE, headers={"Origin": PUBLIC},
                        transport=httpx.HTTPTransport(local_address=address, verify=False))  # fmt: skip


def sign_up(http: httpx.Client, name: str, **headers) -> int:
    form = {"username": name, "email": f"{name}@example.org", "password": "correct horse battery"}
    return http.post("/signup", data=form, headers=headers).status_code


def test_clients_are_told_apart_through_the_proxy_and_cannot_forge_their_address(nginx_site):
    app, _, https = nginx_site
    # One sign-up an hour per client address: through nginx each client counts as itself, not as the proxy.
    assert sign_up(client(https, "127.0.0.5"), "ada") == 303
    assert sign_up(client(https, "127.0.0.5"), "bob") == 429
    assert sign_up(client(https, "127.0.0.6"), "cid") == 303
    # An address a client writes itself is dropped by nginx ...
    assert sign_up(client(https, "127.0.0.7"), "dan", **{"X-Forwarded-For": "10.1.1.1"}) == 303
    assert sign_up(client(https, "127.0.0.7"), "eve", **{"X-Forwarded-For": "10.1.1.2"}) == 429
    # ... and is not believed from anyone but the proxy.
    direct = app.url
    assert sign_up(client(direct, "127.0.0.8"), "fay", **{"X-Forwarded-For": "10.2.2.1"}) == 303
    assert sign_up(client(direct, "127.0.0.8"), "gus", **{"X-Forwarded-For": "10.2.2.2"}) == 429


def test_plain_http_is_redirected_to_https_and_the_site_knows_it_is_https(nginx_site):
    _, http, https = nginx_site
    answer = httpx.get(f"{http}/papers/week/2026-W34?sort=trending", follow_redirects=False, timeout=PATIENCE)
    assert answer.status_code == 301 and answer.headers["location"] == f"{https}/papers/week/2026-W34?sort=trending"
    page = client(https, "127.0.0.9").get("/")
    assert page.status_code == 200 and page.headers["strict-transport-security"].startswith("max-age=")
    login = client(https, "127.0.0.9").post("/login", data={"username": "nobody", "password": "wrong password!"})
    assert login.status_code == 401  # the form's Origin (https://papers.example.org) is the site's own


def test_static_files_come_from_nginx(nginx_site):
    _, _, https = nginx_site
    answer = client(https, "127.0.0.10").get("/static/style.css")
    assert answer.status_code == 200 and answer.content == (STATIC / "style.css").read_bytes()
    assert answer.headers["server"].startswith("nginx") and "expires" in answer.headers
    assert "content-security-policy" not in answer.headers  # the app adds it to all it serves: nginx served this
