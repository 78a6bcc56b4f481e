// VeriML dashboard: progressive enhancement only; every page works without this file.
(function () {
  "use strict";
  var BACKGROUND = { "X-VeriML-Background": "1", "Accept": "application/json" };

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Uploads through XMLHttpRequest, for its upload progress events.
  function enhanceUpload(form) {
    var progress = form.querySelector("[data-upload-progress]");
    var errors = form.querySelector("[data-errors]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.getAttribute("action") || window.location.pathname);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-CSRFToken", csrfToken(form));
      if (progress) {
        progress.classList.remove("hidden");
        request.upload.addEventListener("progress", function (e) {
          if (!e.lengthComputable) return;
          var percent = Math.round((100 * e.loaded) / e.total);
          progress.querySelector(".bar").style.width = percent + "%";
          progress.querySelector(".label").textContent = percent + "%";
        });
      }
      request.onload = function () {
        var body = {};
        try { body = JSON.parse(request.responseText); } catch (ignored) { /* not JSON */ }
        if (request.status < 300 && body.redirect) {
          window.location.assign(body.redirect);
          return;
        }
        if (errors) {
          errors.textContent = (body.error && body.error.message) || ("Upload failed (HTTP " + request.status + ")");
          errors.classList.remove("hidden");
        }
      };
      request.onerror = function () {
        if (errors) { errors.textContent = "Upload failed: network error"; errors.classList.remove("hidden"); }
      };
      request.send(new FormData(form));
    });
  }

  // Follows a model, test set or job through the JSON API; reloads once its status changes.
  function follow(element) {
    var url = element.getAttribute("data-poll");
    var initial = element.getAttribute("data-status");
    function tick() {
      fetch(url, { headers: BACKGROUND, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body) return;
          if (body.status !== initial) { window.location.reload(); return; }
          var stage = element.querySelector("[data-stage]");
          var bar = element.querySelector("[data-fraction]");
          if (stage && body.progress && body.progress.stage) stage.textContent = body.progress.stage;
          if (bar && body.progress) bar.style.width = Math.round(100 * (body.progress.fraction || 0)) + "%";
          window.setTimeout(tick, 1000);
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    window.setTimeout(tick, 1000);
  }

  function enhanceDropzone(zone) {
    var input = zone.querySelector("input[type=file]");
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        zone.closest("form").requestSubmit();
      }
    });
  }

  function showKindFields(form) {
    var radios = form.querySelectorAll("[data-kind]");
    if (!radios.length) return;
    function update() {
      var kind = form.querySelector("[data-kind]:checked").value;
      form.querySelectorAll("[data-for-kind]").forEach(function (field) {
        field.classList.toggle("hidden", field.getAttribute("data-for-kind") !== kind);
      });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", update); });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-upload]").forEach(function (form) {
      enhanceUpload(form);
      showKindFields(form);
    });
    document.querySelectorAll("[data-poll]").forEach(follow);
    document.querySelectorAll("[data-dropzone]").forEach(enhanceDropzone);
  });
})();
