"""`nginx -t` on both nginx configurations, as the nginx image would load them.

Only what cannot exist here is changed in a copy: /etc/nginx/ becomes a temporary prefix holding self-signed
certificates, and the Compose service names (app, hub) become 127.0.0.1, since nginx resolves upstream names
while testing and there is no Docker DNS here. If the local nginx is older than 1.27.3 (Debian 12 has 1.22),
it does not know the upstream `resolve` parameter; the copy drops it then, and a separate test checks that
the scaled file keeps it and that the image it runs in is new enough.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, ok, run, tool

NGINX = DEPLOY / "nginx"


def nginx_version() -> tuple[int, ...]:
    result = run(tool("nginx"), "-v")
    return tuple(int(p) for p in re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", result.stderr).groups())  # type: ignore[union-attr]


def prepare(tmp_path: Path, site: str, *, broken: bool = False) -> Path:
    prefix = tmp_path / "etc-nginx"
    (prefix / "snippets").mkdir(parents=True)
    (prefix / "tls").mkdir()
    ok(
        run(
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-keyout", prefix / "tls" / "privkey.pem", "-out", prefix / "tls" / "fullchain.pem",
        )
    )  # fmt: skip

    def adapt(text: str) -> str:
        text = text.replace("/etc/nginx/", f"{prefix}/")
        text = re.sub(r"\bserver (app|hub):8000", r"server 127.0.0.1:8000", text)
        text = text.replace("root /var/www/acme;", f"root {tmp_path};")
        if nginx_version() < (1, 27, 3):
            text = re.sub(r" resolve(?= )", "", text)
        return text

    for snippet in (NGINX / "snippets").glob("*.conf"):
        (prefix / "snippets" / snippet.name).write_text(adapt(snippet.read_text()))
    body = adapt((NGINX / site).read_text())
    if broken:
        body = body.replace("proxy_pass", "proxy_passs", 1).replace("least_conn;", "least_con;")
        (prefix / "snippets" / "locations.conf").write_text(
            (prefix / "snippets" / "locations.conf")
            .read_text()
            .replace("proxy_read_timeout 1h;", "proxy_read_timeout 1h", 1)
        )
    (prefix / "site.conf").write_text(body)
    # The image's nginx.conf, in short: what conf.d/default.conf is included into. Temp paths in the prefix.
    main = prefix / "nginx.conf"
    main.write_text(
        f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {prefix}/site.conf;
}}
"""
    )
    return main


@pytest.mark.parametrize("site", ["fintrack.conf", "fintrack-scaled.conf"])
def test_nginx_accepts_the_configuration(tmp_path: Path, site: str) -> None:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates")
    main = prepare(tmp_path, site)
    result = run(tool("nginx"), "-t", "-p", tmp_path, "-c", main)
    assert ok(result), result.stderr
    assert "test is successful" in result.stderr


def test_a_broken_nginx_configuration_is_caught(tmp_path: Path) -> None:
    main = prepare(tmp_path, "fintrack.conf", broken=True)
    assert not ok(run(tool("nginx"), "-t", "-p", tmp_path, "-c", main))


def test_the_scaled_variant_balances_and_re_resolves_replicas() -> None:
    scaled = (NGINX / "fintrack-scaled.conf").read_text()
    assert "resolver 127.0.0.11" in scaled
    for upstream in ("fintrack_app", "fintrack_hub"):
        block = re.search(rf"upstream {upstream} \{{(.*?)\}}", scaled, re.S).group(1)  # type: ignore[union-attr]
        assert "least_conn;" in block and "zone " in block
        assert re.search(r"server \w+:8000 resolve\b", block)
    image = (NGINX / "compose.nginx.yml").read_text()
    version = tuple(int(p) for p in re.search(r"image: nginx:(\d+)\.(\d+)\.(\d+)", image).groups())  # type: ignore[union-attr]
    assert version >= (1, 27, 3)


def test_websockets_get_upgrade_headers_and_long_timeouts() -> None:
    locations = (NGINX / "snippets" / "locations.conf").read_text()
    ws = re.search(r"location /ws \{(.*?)\n\}", locations, re.S).group(1)  # type: ignore[union-attr]
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "proxy_set_header Connection $connection_upgrade;" in ws
    assert "proxy_read_timeout 1h;" in ws
