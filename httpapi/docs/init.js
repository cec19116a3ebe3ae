// Starts Swagger UI on the API's own OpenAPI document. It lives in its own
// file so the page runs under a Content-Security-Policy without inline scripts.
//
// Swagger UI leaves some controls without names, some headings out of order
// and some content outside any landmark; docs.css fixes its colours, and the
// labeller below mends what it renders, each time it renders it, so that the
// page passes axe-core (the browser tests check it).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/schema/",
    dom_id: "#swagger-ui",
    // A deep link puts a link inside each operation's expand button: a
    // control nested in a control.
    deepLinking: false,
    // Its colouring of code is too faint on its dark background.
    syntaxHighlight: { activated: false },
    // Never send the document to an outside validator.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
  });

  function text(el) {
    return el ? el.textContent.replace(/\s+/g, " ").trim() : "";
  }

  // Each entry names the controls a selector finds, by what they hold.
  var names = [
    ["select#servers", function () { return "Server"; }],
    [".examples-select-element", function () { return "Example"; }],
    ["select.content-type, .body-param-content-type select, .response-control-media-type select", function () { return "Media type"; }],
    [".parameters-col_description select, .parameters-col_description input, .parameters-col_description textarea", function (el) {
      var row = el.closest("tr");
      return text(row && row.querySelector(".parameter__name")).replace(/\s*\*.*$/, "") || "Value";
    }],
    ["textarea.body-param__text", function () { return "Request body"; }],
    [".curl-command textarea, textarea.curl", function () { return "curl command"; }],
    ["button.close-modal", function () { return "Close"; }],
    [".auth-container input", function (el) {
      var wrap = el.closest(".wrapper");
      return text(wrap && wrap.querySelector("label")).replace(/:\s*$/, "") || "Value";
    }],
  ];

  function unnamed(el) {
    if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return false;
    if (el.tagName === "BUTTON") return !text(el);
    // A label that wraps its control also holds the control's own text
    // (a select's options), which names nothing.
    return !el.labels || !Array.prototype.some.call(el.labels, function (l) { return text(l).replace(text(el), "").trim(); });
  }

  function mend(root) {
    names.forEach(function (pair) {
      root.querySelectorAll(pair[0]).forEach(function (el) {
        if (unnamed(el)) el.setAttribute("aria-label", pair[1](el));
      });
    });
    // A button's name must hold the words it shows.
    root.querySelectorAll(".auth-btn-wrapper button[aria-label]").forEach(function (b) {
      if (text(b) && b.getAttribute("aria-label") !== text(b)) b.setAttribute("aria-label", text(b));
    });
    // Headings go down one level at a time: the title is the h1, tags and
    // dialogs h2, what is inside an operation h3.
    root.querySelectorAll("h3.opblock-tag, .modal-ux-header h3, section.models > h4").forEach(function (h) {
      h.setAttribute("aria-level", "2");
    });
    root.querySelectorAll(".opblock-section-header h4, .opblock-body h4, .opblock-body h5, .modal-ux-content h4").forEach(function (h) {
      h.setAttribute("aria-level", "3");
    });
    // The page's parts are landmarks; Swagger UI marks only the operations.
    root.querySelectorAll(".information-container").forEach(function (el) {
      el.setAttribute("role", "banner");
    });
    root.querySelectorAll(".scheme-container").forEach(function (el) {
      el.setAttribute("role", "region");
      el.setAttribute("aria-label", "Server and authorization");
    });
    // Each operation's responses are a region: name it after the operation,
    // so that two open operations' regions are told apart.
    root.querySelectorAll(".opblock [role='region']").forEach(function (el) {
      var op = el.closest(".opblock");
      var what = text(op.querySelector(".opblock-summary-method")) + " " + text(op.querySelector(".opblock-summary-path"));
      el.setAttribute("aria-label", (el.classList.contains("responses-table") ? "Responses of " : "") + what);
    });
    root.querySelectorAll(".modal-ux").forEach(function (el) {
      el.setAttribute("role", "dialog");
      el.setAttribute("aria-modal", "true");
      var title = el.querySelector(".modal-ux-header h3");
      if (title) el.setAttribute("aria-label", text(title));
    });
    // Code that scrolls can be reached, and scrolled, by keyboard.
    root.querySelectorAll(".highlight-code pre, pre.microlight, .model-example pre").forEach(function (pre) {
      if (!pre.hasAttribute("tabindex")) pre.setAttribute("tabindex", "0");
    });
  }

  var root = document.getElementById("swagger-ui");
  new MutationObserver(function () { mend(root); }).observe(root, { childList: true, subtree: true });
  mend(root);
});
