// Rég@te iframe snippet generator: live update of the code and preview, and a copy button. Without
// script, the form's "Mettre à jour" does the same on the server.
(function () {
  "use strict";
  var form = document.getElementById("generateur");
  var code = document.getElementById("g-code");
  var preview = document.getElementById("g-apercu");
  var statut = document.getElementById("g-statut");
  var timer = null;

  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function query() {
    var params = new URLSearchParams();
    var siren = form.elements.siren.value.trim();
    var theme = form.elements.theme.value;
    var couleur = form.elements.couleur.value.trim().replace(/^#/, "");
    if (/^[0-9]{9}$/.test(siren)) params.set("siren", siren);
    if (theme && theme !== "defaut") params.set("theme", theme);
    if (/^[0-9a-fA-F]{6}$/.test(couleur)) params.set("couleur", couleur.toLowerCase());
    return params.toString();
  }

  function update() {
    var q = query();
    var height = Math.min(4000, Math.max(200, parseInt(form.elements.hauteur.value, 10) || 800));
    var src = code.dataset.base + "/v1/marque-blanche" + (q ? "?" + q : "");
    var title = "Recherche dans les actes publiés de " + code.dataset.nom;
    var iframe = '<iframe src="' + esc(src) + '" title="' + esc(title) + '" width="100%" height="' + height +
      '" style="border:0" referrerpolicy="strict-origin-when-cross-origin" loading="lazy"></iframe>';
    var lines = code.value.split("\n");
    lines[0] = iframe;
    code.value = lines.join("\n");
    preview.setAttribute("src", "marque-blanche" + (q ? "?" + q : ""));
    preview.setAttribute("height", String(height));
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(update, 300);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  document.getElementById("g-copier").addEventListener("click", function () {
    code.select();
    var done = function () { statut.textContent = "Code copié."; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(code.value).then(done, function () {
        statut.textContent = "Copie impossible : sélectionnez le code et copiez-le (Ctrl+C).";
      });
    } else {
      statut.textContent = document.execCommand && document.execCommand("copy")
        ? "Code copié." : "Sélectionnez le code et copiez-le (Ctrl+C).";
    }
  });
})();
