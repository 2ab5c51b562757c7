"""The web app's HTTP API in-process (Starlette's TestClient) on the shipped model and small real images:
every control, the cache that keeps the encoder out of slider moves, downloads, isolation, every error path;
hostile requests (foreign `Host` and `Origin`, bodies past their caps, odd digits, bad configuration) and a
seeded fuzz of the API that must never see a 500 and must leave a server that still answers."""

from __future__ import annotations

import base64
import io
import json
import math
import random
import threading
import time

import numpy as np
import pytest
from PIL import Image
from support import require_extra

require_extra("starlette")
require_extra("httpx")  # Starlette's TestClient

from starlette.testclient import TestClient  # noqa: E402

from adain.errors import UserError  # noqa: E402
from adain.serve.app import create_app, jpeg_data_url  # noqa: E402
from adain.serve.config import MAX_JSON_BYTES, ServeConfig  # noqa: E402
from adain.serve.examples import Example, thumbnail_jpeg  # noqa: E402

SIZE = 128
BASE_URL = "http://127.0.0.1:8000"  # the Host the server answers (TestClient's default, "testserver", is refused)


class Counting:
    """Wraps one of the Stylizer's traced encoder functions and counts its runs."""

    def __init__(self, function) -> None:
        self.function, self.calls = function, 0

    def __call__(self, *args):
        self.calls += 1
        return self.function(*args)


@pytest.fixture(scope="module")
def examples(uploads):
    def example(key: str, name: str) -> Example:
        image = np.asarray(Image.open(io.BytesIO(uploads[key])).convert("RGB"))
        return Example(key, name, image, thumbnail_jpeg(image))

    return [example("content", "photos/cornell.png")], [example("mondrian", "paintings/mondrian.png")]


def make_client(stylizer, examples, **config) -> TestClient:
    settings = {"preview_size": SIZE, "style_size": SIZE, **config}
    return TestClient(create_app(stylizer, ServeConfig(**settings), *examples), base_url=BASE_URL)


@pytest.fixture
def client(shipped_stylizer, examples, monkeypatch):
    """A fresh app whose encoder runs are counted: client.encodes() -> runs so far."""
    encode, statistics = Counting(shipped_stylizer._encode), Counting(shipped_stylizer._statistics)
    monkeypatch.setattr(shipped_stylizer, "_encode", encode)
    monkeypatch.setattr(shipped_stylizer, "_statistics", statistics)
    client = make_client(shipped_stylizer, examples)
    client.encodes = lambda: encode.calls + statistics.calls
    return client


def session(client) -> dict[str, str]:
    return {"X-Session": client.post("/api/session").json()["session"]}


def put(client, headers, path, data, name="upload.png", status=200):
    response = client.post(path, params={"name": name}, content=data, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def stylize(client, headers, status=200, **settings):
    response = client.post("/api/stylize", json=settings, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def image_of(answer: dict) -> np.ndarray:
    data = base64.b64decode(answer["image"].split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def ready(client, uploads, content="content", style="mondrian"):
    headers = session(client)
    put(client, headers, "/api/content", uploads[content], f"{content}.png")
    put(client, headers, "/api/style/0", uploads[style], f"{style}.png")
    return headers


def test_page_and_its_files_come_from_memory(client):
    page = client.get("/")
    assert page.status_code == 200 and "adain" in page.text and "/static/app.js" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    for bad in ("/static/nope.js", "/static/..%2F..%2Fapp.py", "/static/%2Fetc%2Fpasswd", "/api/thumbnail/content/7"):
        response = client.get(bad)
        assert response.status_code == 404, bad
    info = client.get("/api/info").json()
    assert info["examples"]["style"] == [{"index": 0, "title": "mondrian"}]
    assert client.get("/api/thumbnail/style/0").headers["content-type"] == "image/jpeg"


def test_alpha_moves_only_decode_and_alpha_zero_is_the_reconstruction(client, uploads, shipped_stylizer):
    headers = session(client)
    content = put(client, headers, "/api/content", uploads["content"], "cornell.png")
    assert (content["width"], content["height"]) == (228, 160)
    put(client, headers, "/api/style/0", uploads["mondrian"], "mondrian.png")
    encodes = client.encodes()
    assert encodes == 2  # one content, one style
    full = stylize(client, headers, alpha=1.0)
    half = stylize(client, headers, alpha=0.5)
    zero = stylize(client, headers, alpha=0.0)
    assert client.encodes() == encodes, "a slider move must not run the encoder"
    assert (full["width"], full["height"]) == (182, 128)  # preview: smaller side 128
    images = [image_of(a) for a in (full, half, zero)]
    assert np.abs(images[0] - images[2]).mean() > 10  # the style shows
    # alpha 0: the decoder's reconstruction, as the Python API computes it
    expected = shipped_stylizer.stylize(
        uploads_image(uploads["content"]), uploads_image(uploads["mondrian"]), 0.0, content_size=SIZE, style_size=SIZE
    )
    assert np.array_equal(images[2], image_of({"image": jpeg_data_url(expected)}))  # the same pixels, as JPEG
    assert "--alpha 0.5" in half["command"] and "--style-size 128" in half["command"]
    assert half["command"].startswith("adain stylize --content cornell.png --style mondrian.png")


def uploads_image(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_interpolation_and_mask_reuse_the_cached_styles(client, uploads):
    headers = ready(client, uploads)
    first = image_of(stylize(client, headers, alpha=1.0))
    put(client, headers, "/api/style/1", uploads["sketch"], "sketch.png")
    encodes = client.encodes()
    mixes = {mix: stylize(client, headers, mix=mix) for mix in (0.0, 0.5, 1.0)}
    assert np.abs(image_of(mixes[0.0]) - first).mean() < 2  # weight 0 for the second style: the first alone
    assert np.abs(image_of(mixes[1.0]) - image_of(mixes[0.0])).mean() > 5
    assert "--style-weights 0.5,0.5" in mixes[0.5]["command"]
    error = stylize(client, headers, status=400, use_mask=True)
    assert error == {"error": "Paint or upload a mask first."}
    put(client, headers, "/api/mask", uploads["mask"], "mask.png")
    masked = stylize(client, headers, use_mask=True)
    assert "--mask mask.png" in masked["command"] and "--style-weights" not in masked["command"]
    assert np.abs(image_of(masked) - image_of(mixes[0.5])).mean() > 2
    assert client.encodes() == encodes, "mix and mask changes must not run the encoder"
    assert client.delete("/api/style/1", headers=headers).status_code == 200
    assert (
        stylize(client, headers, status=400, use_mask=True)["error"]
        == "A mask needs a second style for its black area."
    )


def test_colour_preservation_costs_one_style_encode_once(client, uploads):
    headers = ready(client, uploads)
    encodes = client.encodes()
    kept = stylize(client, headers, preserve_color=True)
    assert client.encodes() == encodes + 1  # the style, recoloured to this content
    stylize(client, headers, preserve_color=True, alpha=0.3)
    assert client.encodes() == encodes + 1
    assert "--preserve-color" in kept["command"]


def test_download_is_what_the_shown_command_computes(client, uploads, shipped_stylizer):
    headers = ready(client, uploads)
    response = client.post("/api/download", json={"alpha": 0.7, "size": 0}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert 'filename="content_stylized.png"' in response.headers["content-disposition"]
    image = uploads_image(response.content)
    assert image.shape == (160, 228, 3)  # original size: as uploaded
    expected = shipped_stylizer.stylize(
        uploads_image(uploads["content"]), uploads_image(uploads["mondrian"]), 0.7, style_size=SIZE, tile_size=1024
    )
    np.testing.assert_array_equal(image, expected)
    resized = client.post("/api/download", json={"alpha": 0.7, "size": 512}, headers=headers)
    assert uploads_image(resized.content).shape == (512, 730, 3)


def test_examples_are_picked_by_index_and_named_by_path(client):
    headers = session(client)
    assert client.post("/api/content", params={"example": "0"}, headers=headers).status_code == 200
    assert client.post("/api/style/0", params={"example": "0"}, headers=headers).status_code == 200
    answer = stylize(client, headers)
    assert "--content photos/cornell.png --style paintings/mondrian.png" in answer["command"]
    for index in ("1", "-1", "../x", ""):
        response = client.post("/api/style/0", params={"example": index}, headers=headers)
        assert response.status_code == 404, index


def test_two_tabs_never_see_each_others_images(client, uploads):
    first = ready(client, uploads, content="content")
    second = ready(client, uploads, content="other")
    one, two = image_of(stylize(client, first, alpha=0.0)), image_of(stylize(client, second, alpha=0.0))
    assert one.shape != two.shape or np.abs(one - two).mean() > 10
    third = session(client)
    assert stylize(client, third, status=400) == {"error": "Choose a content picture first."}
    # requests of both tabs at once are queued on the model, never mixed
    results: dict[str, list] = {"first": [], "second": []}

    def hammer(name, headers):
        for _ in range(3):
            results[name].append(image_of(stylize(client, headers, alpha=0.0)))

    threads = [threading.Thread(target=hammer, args=item) for item in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(image, one) for image in results["first"])
    assert all(np.array_equal(image, two) for image in results["second"])


def test_bad_uploads_are_one_sentence_and_the_server_keeps_serving(shipped_stylizer, examples, uploads):
    client = make_client(shipped_stylizer, examples, max_upload_mb=0.2, max_megapixels=0.03)
    headers = session(client)
    cases = [
        (b"hello, I am text\n", "notes.png", 400, "“notes.png” is not an image (or it is damaged)."),
        (b"", "empty.png", 400, "“empty.png” is empty."),
        (b"%PDF-1.7\n" + b"x" * 100, "scan.png", 400, "“scan.png” is a PDF file, an unsupported format"),
        (ico_bytes(), "icon.png", 400, "“icon.png” is a ICO image, an unsupported format"),
        (uploads["content"], "big.png", 400, "“big.png” is 228x160 px (0.0 megapixels), more than the 0.03"),
        (b"x" * 300_000, "huge.png", 413, "The file is 0.3 MB, more than the 0.2 MB this server accepts."),
        (tiny_png(), "tiny.png", 400, "“tiny.png” is 8x8 px: images need at least 16 px on each side."),
    ]
    for data, name, status, message in cases:
        answer = put(client, headers, "/api/content", data, name, status=status)
        assert answer["error"].startswith(message), answer
    small = small_image_bytes(uploads["content"])
    assert put(client, headers, "/api/content", small, "small.png")["width"] == 170


def test_bad_requests_are_one_sentence(client, uploads):
    headers = ready(client, uploads)
    bad = [
        ({"alpha": 2}, "Alpha must be in [0, 1], got 2."),
        ({"alpha": "x"}, "Alpha must be a number, got 'x'."),
        ({"mix": -1}, "Mix must be in [0, 1], got -1."),
        ({"preserve_color": "yes"}, "Preserve_color must be true or false, got 'yes'."),
        ({"size": 300}, "Size must be one of 512, 1024, 0 (0: original), got 300."),
        ({"colour": 1}, "Unknown setting 'colour'."),
        ([1, 2], "The settings must be a JSON object."),
    ]
    for settings, message in bad:
        assert client.post("/api/stylize", json=settings, headers=headers).json() == {"error": message}
    not_json = client.post("/api/stylize", content=b"{", headers=headers)
    assert not_json.status_code == 400 and not_json.json() == {"error": "The settings are not valid JSON."}
    for headers_ in ({}, {"X-Session": "made-up"}):
        response = client.post("/api/stylize", json={}, headers=headers_)
        assert response.status_code == 404
        assert response.json()["error"] == "This page's session has expired or is unknown: reload the page."
    assert client.post("/api/style/2", content=uploads["sketch"], headers=headers).status_code == 400
    assert client.delete("/api/style/0", headers=headers).status_code == 400
    assert stylize(client, headers)["width"] == 182  # still serving


def test_the_oldest_tab_is_forgotten_beyond_the_limit(shipped_stylizer, examples):
    client = make_client(shipped_stylizer, examples, max_sessions=2)
    tabs = [session(client) for _ in range(3)]
    assert stylize(client, tabs[0], status=404)["error"].startswith("This page's session has expired")
    assert stylize(client, tabs[2], status=400)["error"] == "Choose a content picture first."


def test_a_download_too_large_to_stylize_untiled_is_refused(shipped_stylizer, examples, uploads):
    client = make_client(shipped_stylizer, examples, untiled_megapixels=0.2)
    headers = ready(client, uploads)
    put(client, headers, "/api/style/1", uploads["sketch"], "sketch.png")
    response = client.post("/api/download", json={"size": 512}, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"].startswith("This download would be 0.4 megapixels in one piece")


def ico_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buffer, "ICO")
    return buffer.getvalue()


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    return buffer.getvalue()


def small_image_bytes(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    image = image.resize((170, 119))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


# -- hostile requests ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(shipped_stylizer, examples):
    return make_client(shipped_stylizer, examples)


def test_only_its_own_names_are_answered(guarded, shipped_stylizer, examples):
    for host in ("127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "127.0.0.1"):
        assert guarded.get("/api/info", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example:8000", "attacker.com", "127.0.0.1.evil.example", "", "[::2]:8000", "10.0.0.1"):
        response = guarded.get("/api/info", headers={"Host": host})
        assert response.status_code == 403, host
        assert response.json()["error"].startswith("This server does not answer to the host name"), host
    assert guarded.post("/api/session", headers={"Host": "evil.example"}).status_code == 403

    named = TestClient(create_app(shipped_stylizer, ServeConfig(host="0.0.0.0", allow_hosts=("mybox.lan",)), *examples))
    for host, status in (("192.168.1.20:8000", 200), ("mybox.lan:8000", 200), ("rebind.evil.example", 403)):
        assert named.get("/api/info", headers={"Host": host}).status_code == status, host


def test_state_changes_only_from_its_own_page_or_an_allowed_origin(guarded, shipped_stylizer, examples):
    assert guarded.post("/api/session").status_code == 200  # no Origin: not a browser page (curl, scripts)
    assert guarded.post("/api/session", headers={"Origin": BASE_URL}).status_code == 200  # the page itself
    for origin in ("http://evil.example", "http://127.0.0.1:9999", "null", "https://127.0.0.1:8000", "x"):
        response = guarded.post("/api/session", headers={"Origin": origin})
        assert response.status_code == 403, origin
        assert "only this server's own page may change things" in response.json()["error"]
    headers = session(guarded)
    assert guarded.delete("/api/mask", headers={**headers, "Origin": "http://evil.example"}).status_code == 403
    assert guarded.get("/api/info", headers={"Origin": "http://evil.example"}).status_code == 200  # reading is safe

    allowed = make_client(shipped_stylizer, examples, allow_origins=("http://localhost:3000",))
    assert allowed.post("/api/session", headers={"Origin": "http://localhost:3000"}).status_code == 200
    assert allowed.post("/api/session", headers={"Origin": "http://localhost:3001"}).status_code == 403


def test_every_body_is_capped_before_it_is_parsed(guarded, uploads):
    headers = session(guarded)
    big = json.dumps({"alpha": 0.5, "pad": "x" * (2 * MAX_JSON_BYTES)}).encode()
    response = guarded.post("/api/stylize", content=big, headers=headers)
    assert response.status_code == 413 and response.json()["error"].startswith("The file is")
    # a declared length past the upload cap is refused before any route reads a byte
    response = guarded.post("/api/session", content=b"x" * (20 * 1024 * 1024 + 1))
    assert response.status_code == 413
    deep = b"[" * (MAX_JSON_BYTES - 10)
    response = guarded.post("/api/stylize", content=deep, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error": "The settings are nested too deeply to be settings."}
    for body in (b"\xff\xfe\x00", b'{"alpha": 1e999999}', b'{"alpha": ' + b"9" * 400 + b"}", b'{"alpha": NaN}'):
        response = guarded.post("/api/stylize", content=body, headers=headers)
        assert response.status_code == 400, (body[:30], response.text)


def test_odd_digits_and_names_are_404_not_500(guarded, uploads):
    headers = session(guarded)
    for path in ("/api/thumbnail/content/²", "/api/thumbnail/style/٣", "/api/thumbnail/content/" + "9" * 5000):
        assert guarded.get(path).status_code == 404, path[:40]
    for example in ("²", "٣", "9" * 5000, "-1", "0x1"):
        response = guarded.post("/api/content", params={"example": example}, headers=headers)
        assert response.status_code == 404, example[:20]
        assert response.json()["error"].startswith("There is no content example")
    for slot in ("²", "9" * 5000, "x"):
        assert guarded.post(f"/api/style/{slot}", content=uploads["sketch"], headers=headers).status_code == 404


def test_configuration_is_checked_at_start():
    for value in (math.inf, math.nan, -1.0, 0.0, 1e6):
        with pytest.raises(UserError, match="--max-upload-mb must be"):
            ServeConfig(max_upload_mb=value)
    with pytest.raises(UserError, match="--max-megapixels must be a finite number"):
        ServeConfig(max_megapixels=math.nan)
    with pytest.raises(UserError, match="--allow-origin must look like"):
        ServeConfig(allow_origins=("localhost:3000",))


PATHS = [
    ("GET", "/"),
    ("GET", "/api/info"),
    ("GET", "/static/app.js"),
    ("GET", "/api/thumbnail/content/0"),
    ("GET", "/api/thumbnail/style/{word}"),
    ("POST", "/api/session"),
    ("POST", "/api/content"),
    ("POST", "/api/style/{word}"),
    ("DELETE", "/api/style/{word}"),
    ("POST", "/api/mask"),
    ("DELETE", "/api/mask"),
    ("POST", "/api/stylize"),
    ("POST", "/api/download"),
    ("PUT", "/api/stylize"),
    ("GET", "/{word}"),
]
WORDS = ["0", "1", "2", "²", "-1", "9" * 30, "%00", "..", "a b", "ü", "\u202e", "9" * 5000]
VALUES = [0, 1, 0.5, -1, 2, 1e308, 10**400, None, True, "x", [], {}, [[[]]], "NaN", 512, 1024, 0.0]
KEYS = ["alpha", "mix", "preserve_color", "use_mask", "size", "colour", "", "__proto__"]


def random_body(rng: random.Random, uploads: dict[str, bytes]) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:
        return b""
    if kind == 1:
        return rng.randbytes(rng.randrange(1, 3000))
    if kind == 2:
        data = bytearray(rng.choice(list(uploads.values())))
        for _ in range(rng.randrange(1, 20)):  # a damaged real image
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data[: rng.randrange(1, len(data) + 1)])
    if kind == 3:
        return rng.choice(list(uploads.values()))
    if kind == 4:
        return b"[" * rng.randrange(1, 60000) + b"]" * rng.randrange(0, 5)
    settings = {rng.choice(KEYS): rng.choice(VALUES) for _ in range(rng.randrange(0, 5))}
    text = json.dumps(settings, allow_nan=True) if kind == 5 else json.dumps(settings)[: rng.randrange(0, 40)]
    return text.encode()


def random_headers(rng: random.Random, tabs: list[str]) -> dict[str, str | bytes]:
    headers = {}
    if rng.random() < 0.7:
        headers["X-Session"] = rng.choice(tabs + ["", "nope", "\u00e9".encode("latin-1") * 3])
    if rng.random() < 0.2:
        headers["Origin"] = rng.choice([BASE_URL, "http://evil.example", "null", "ü://x".encode("latin-1")])
    if rng.random() < 0.1:
        headers["Host"] = rng.choice(["evil.example", "127.0.0.1:1", "[::1", ":", "localhost:x"])
    if rng.random() < 0.1:
        headers["Content-Type"] = rng.choice(["application/json", "multipart/form-data; boundary=x", "text/plain"])
    return headers


def test_fuzzing_the_api_never_gives_500_and_the_server_still_answers(shipped_stylizer, examples, uploads):
    """200 seeded random requests (or 20 s, whichever first): bodies, parameters, paths and headers."""
    client = make_client(shipped_stylizer, examples, max_upload_mb=1, max_megapixels=0.5)
    tabs = [ready(client, uploads)["X-Session"] for _ in range(2)]
    rng = random.Random(24)
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + 20
    for count in range(200):
        if time.monotonic() > deadline:
            break
        method, path = rng.choice(PATHS)
        path = path.format(word=rng.choice(WORDS))
        params = {}
        for _ in range(rng.randrange(0, 3)):
            params[rng.choice(["example", "name", "size", "x"])] = rng.choice(WORDS + ["../../etc/passwd", "0"])
        body = random_body(rng, uploads) if method != "GET" else b""
        response = client.request(method, path, params=params, content=body, headers=random_headers(rng, tabs))
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (count, method, path[:60], params, body[:60], response.text[:300])
        if response.headers.get("content-type", "").startswith("application/json") and response.status_code >= 400:
            assert response.json()["error"].endswith("."), response.text
    assert count >= 50, f"only {count} requests in 20 s"
    assert len(statuses) >= 4, statuses  # the fuzz reached past the first refusals
    assert put(client, {"X-Session": tabs[0]}, "/api/content", uploads["content"], "content.png")["width"] == 228
    assert stylize(client, {"X-Session": tabs[0]}, alpha=0.5)["width"] == 182
