// adain serve: the page. Plain JS, no build step. Every call carries this tab's session id (X-Session),
// created on load: a reload starts afresh, and two tabs never share images.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { session: null, content: false, styles: [false, false], busy: false, pending: false, serial: 0 };

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}
function clearError() { $("error").hidden = true; }

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {}, { "X-Session": state.session || "" });
  let response;
  try {
    response = await fetch(path, Object.assign({}, options, { headers }));
  } catch (err) {
    throw new Error("The server cannot be reached: is `adain serve` still running?");
  }
  if (!response.ok) {
    let message = `The server answered ${response.status}.`;
    try { message = (await response.json()).error || message; } catch (err) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function settings() {
  return {
    alpha: parseFloat($("alpha").value),
    mix: parseFloat($("mix").value),
    preserve_color: $("preserve-color").checked,
    use_mask: $("use-mask").checked && state.styles[1],
    size: parseInt($("size").value, 10),
  };
}

function setBusy(busy) {
  state.busy = busy;
  $("busy").hidden = !busy;
  document.body.dataset.busy = busy ? "1" : "0";
}

// Slider moves coalesce: while a request runs, only the latest settings are sent after it.
async function stylize() {
  if (!state.content || !state.styles[0]) return;
  if (state.busy) { state.pending = true; return; }
  setBusy(true);
  try {
    const response = await api("/api/stylize", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(settings()),
    });
    const answer = await response.json();
    const img = $("result");
    img.src = answer.image;
    img.classList.add("shown");
    $("placeholder").hidden = true;
    $("command").textContent = answer.command;
    $("timing").textContent = `${answer.width}×${answer.height} px preview in ${answer.seconds.toFixed(2)} s`;
    $("download").disabled = false;
    state.serial += 1;
    img.dataset.serial = String(state.serial);
    clearError();
  } catch (err) {
    showError(err.message);
  } finally {
    setBusy(false);
    if (state.pending) { state.pending = false; stylize(); }
  }
}

async function upload(path, body, then) {
  setBusy(true);
  let answer;
  try {
    answer = await (await api(path, { method: "POST", body })).json();
    clearError();
  } catch (err) {
    showError(err.message);
    return;
  } finally {
    setBusy(false);
  }
  then(answer);  // after the busy state ends: it usually stylizes, which must not be queued behind itself
}

function select(container, button) {
  for (const other of container.querySelectorAll("button")) other.classList.toggle("selected", other === button);
}

// -- content ------------------------------------------------------------------------------------------------------

function contentLoaded(answer) {
  state.content = true;
  $("mask-photo").src = answer.preview;
  $("mask-photo").onload = resetMask;
  stylize();
}

function uploadContent(file, button = null) {
  if (!file) return;
  select($("content-examples"), button);
  upload(`/api/content?name=${encodeURIComponent(file.name)}`, file, contentLoaded);
}

// -- styles -------------------------------------------------------------------------------------------------------

function styleLoaded(slot) {
  return (answer) => {
    state.styles[slot] = true;
    if (slot === 1) {
      $("style2-name").textContent = `Second style: ${answer.name}`;
      $("style2-remove").hidden = false;
      $("mix").disabled = false;
      $("use-mask").disabled = false;
    }
    stylize();
  };
}

function uploadStyle(slot, file) {
  if (!file) return;
  select($(slot === 0 ? "style-gallery" : "style2-gallery"), null);
  upload(`/api/style/${slot}?name=${encodeURIComponent(file.name)}`, file, styleLoaded(slot));
}

async function removeSecondStyle() {
  try {
    await api("/api/style/1", { method: "DELETE" });
    state.styles[1] = false;
    select($("style2-gallery"), null);
    $("style2-name").textContent = "No second style.";
    $("style2-remove").hidden = true;
    $("mix").disabled = true;
    $("use-mask").checked = false;
    $("use-mask").disabled = true;
    $("mask-tools").hidden = true;
    stylize();
  } catch (err) { showError(err.message); }
}

// -- mask: painted on a canvas over the photo, sent as a PNG after every stroke --------------------------------------

const mask = { painting: false, colour: "#000" };

function resetMask() {
  const canvas = $("mask-canvas"), photo = $("mask-photo");
  canvas.width = photo.naturalWidth;
  canvas.height = photo.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if ($("use-mask").checked) sendMask();
}

function sendMask() {
  $("mask-canvas").toBlob((blob) => upload("/api/mask?name=mask.png", blob, () => stylize()), "image/png");
}

function paint(event) {
  if (!mask.painting) return;
  const canvas = $("mask-canvas"), rect = canvas.getBoundingClientRect();
  const x = (event.clientX - rect.left) * canvas.width / rect.width;
  const y = (event.clientY - rect.top) * canvas.height / rect.height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = mask.colour;
  ctx.beginPath();
  ctx.arc(x, y, parseFloat($("brush-size").value) * canvas.width / rect.width / 2, 0, 2 * Math.PI);
  ctx.fill();
}

function maskFile(file) {
  if (!file) return;
  const image = new Image();
  image.onload = () => {
    const canvas = $("mask-canvas");
    canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
    URL.revokeObjectURL(image.src);
    sendMask();
  };
  image.onerror = () => showError(`“${file.name}” is not an image the browser can read.`);
  image.src = URL.createObjectURL(file);
}

// -- download -----------------------------------------------------------------------------------------------------

async function download() {
  setBusy(true);
  try {
    const response = await api("/api/download", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(settings()),
    });
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [null, "stylized.png"])[1];
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    clearError();
  } catch (err) {
    showError(err.message);
  } finally {
    setBusy(false);
  }
}

// -- wiring -------------------------------------------------------------------------------------------------------

function thumbs(container, kind, entries, onPick) {
  container.textContent = "";
  for (const entry of entries) {
    const button = document.createElement("button");
    button.type = "button";
    button.title = entry.title;
    button.dataset.index = entry.index;
    const img = document.createElement("img");
    img.src = `/api/thumbnail/${kind}/${entry.index}`;
    img.alt = entry.title;
    button.appendChild(img);
    button.addEventListener("click", () => { select(container, button); onPick(entry.index); });
    container.appendChild(button);
  }
}

function dropZone(zone, input, onFile) {
  input.addEventListener("change", () => { onFile(input.files[0]); input.value = ""; });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    onFile(event.dataTransfer.files[0]);
  });
}

async function start() {
  try {
    state.session = (await (await api("/api/session", { method: "POST" })).json()).session;
    const info = await (await api("/api/info")).json();
    $("model").textContent = `model: ${info.model} · uploads up to ${info.max_upload_mb} MB and ${info.max_megapixels} megapixels`;
    thumbs($("content-examples"), "content", info.examples.content,
      (i) => upload(`/api/content?example=${i}`, null, contentLoaded));
    thumbs($("style-gallery"), "style", info.examples.style,
      (i) => upload(`/api/style/0?example=${i}`, null, styleLoaded(0)));
    thumbs($("style2-gallery"), "style", info.examples.style,
      (i) => upload(`/api/style/1?example=${i}`, null, styleLoaded(1)));
  } catch (err) {
    showError(err.message);
  }
  dropZone($("content-drop"), $("content-file"), (file) => uploadContent(file));
  dropZone($("style-file").parentElement, $("style-file"), (file) => uploadStyle(0, file));
  dropZone($("style2-file").parentElement, $("style2-file"), (file) => uploadStyle(1, file));
  dropZone($("mask-file").parentElement, $("mask-file"), maskFile);
  for (const [slider, label] of [["alpha", "alpha-value"], ["mix", "mix-value"]]) {
    $(slider).addEventListener("input", () => {
      $(label).textContent = parseFloat($(slider).value).toFixed(2);
      stylize();
    });
  }
  $("preserve-color").addEventListener("change", stylize);
  $("size").addEventListener("change", stylize);  // the command line shown follows the size
  $("use-mask").addEventListener("change", () => {
    $("mask-tools").hidden = !$("use-mask").checked;
    if ($("use-mask").checked) sendMask(); else stylize();
  });
  $("style2-remove").addEventListener("click", removeSecondStyle);
  $("download").addEventListener("click", download);
  $("mask-clear").addEventListener("click", resetMask);
  for (const [id, colour] of [["brush-second", "#000"], ["brush-first", "#fff"]]) {
    $(id).addEventListener("click", () => {
      mask.colour = colour;
      $("brush-second").classList.toggle("on", colour === "#000");
      $("brush-first").classList.toggle("on", colour === "#fff");
    });
  }
  const canvas = $("mask-canvas");
  canvas.addEventListener("pointerdown", (event) => { mask.painting = true; canvas.setPointerCapture(event.pointerId); paint(event); });
  canvas.addEventListener("pointermove", paint);
  canvas.addEventListener("pointerup", () => { if (mask.painting) { mask.painting = false; sendMask(); } });
  document.body.dataset.ready = "1";
}

start();
