/* Rég@te back-office page: OIDC login (oidc-client-ts, code + PKCE), queue, decisions, switches, journal.
   Framework-free; every control has a label; messages go to the live region #statut. */
"use strict";

(function () {
  const $ = (selector) => document.querySelector(selector);
  const LIBELLES = { publier: "Publier", metadonnees: "Métadonnées seules", retenir: "Retenir", a_statuer: "À statuer" };
  let manager = null;
  let config = null;
  let moi = null;
  const lignes = new Map(); // "siren/id_e/id_d" -> act summary (etag included)

  function statut(message, kind) {
    const zone = $("#statut");
    zone.textContent = message;
    zone.className = kind || "";
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) node.append(child);
    return node;
  }

  async function api(path, options) {
    const user = await manager.getUser();
    if (!user || user.expired) {
      accueil();
      throw new Error("Session expirée : reconnectez-vous.");
    }
    const headers = Object.assign({ Authorization: "Bearer " + user.access_token, Accept: "application/json" },
      (options && options.headers) || {});
    const response = await fetch(config.api + path, Object.assign({}, options || {}, { headers }));
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const message = body && body.erreur ? body.erreur.message : "Erreur " + response.status;
      const error = new Error(message);
      error.status = response.status;
      error.body = body;
      throw error;
    }
    return body;
  }

  function accueil() {
    $("#accueil").hidden = false;
    $("#application").hidden = true;
  }

  function onglet(nom) {
    for (const id of ["file", "reglages", "journal"]) {
      $("#" + id).hidden = id !== nom;
      const bouton = $("#onglet-" + id);
      if (id === nom) bouton.setAttribute("aria-current", "page");
      else bouton.removeAttribute("aria-current");
    }
    if (nom === "journal") chargerJournal();
    $("#titre-" + nom).setAttribute("tabindex", "-1");
    $("#titre-" + nom).focus();
  }

  // ------------------------------------------------------------------------------- the queue
  async function chargerFile() {
    const params = new URLSearchParams({ statut: $("#filtre-statut").value });
    const siren = $("#filtre-siren").value.trim();
    if (siren) params.set("siren", siren);
    statut("Chargement des actes…");
    try {
      const page = await api("/actes?" + params.toString());
      afficherFile(page);
      statut(page.total + " acte(s).", "ok");
    } catch (error) {
      statut(error.message, "erreur");
    }
  }

  function afficherFile(page) {
    const corps = $("#actes tbody");
    corps.replaceChildren();
    lignes.clear();
    $("#resume-file").textContent = page.derniere_normalisation
      ? "Dernière application par la chaîne : " + new Date(page.derniere_normalisation).toLocaleString("fr-FR")
      : "";
    for (const acte of page.data) {
      const cle = acte.siren + "/" + acte.id_e + "/" + acte.id_d;
      lignes.set(cle, acte);
      const ident = "a-" + acte.id_e + "-" + acte.id_d;
      const coche = element("input", { type: "checkbox", id: "choix-" + ident, "data-cle": cle });
      const documents = element("div", { class: "pile" });
      for (const apercu of acte.apercus) {
        documents.append(element("a", { href: apercu.url, download: apercu.nom,
          text: (apercu.role === "acte" ? "Acte : " : "Annexe : ") + apercu.nom }));
      }
      if (acte.apercus.some((a) => a.role === "annexe")) {
        const bouton = element("button", { type: "button", class: "secondaire annexes", text: "Annexes…",
          "aria-label": "Annexes de l'acte " + acte.numero });
        bouton.addEventListener("click", () => chargerAnnexes(acte));
        documents.append(bouton);
      }
      const choix = element("select", { id: "decision-" + ident, class: "decision" });
      for (const [valeur, libelle] of Object.entries(LIBELLES)) {
        if (valeur === "a_statuer") continue;
        choix.append(element("option", { value: valeur, text: libelle }));
      }
      if (acte.operateur && acte.operateur.decision) choix.value = acte.operateur.decision;
      const motif = element("input", { id: "motif-" + ident, class: "motif", maxlength: 500 });
      const enregistrer = element("button", { type: "button", class: "enregistrer", text: "Enregistrer",
        "aria-label": "Enregistrer la décision pour l'acte " + acte.numero });
      enregistrer.addEventListener("click", () => decider(cle, choix.value, motif.value));
      const vigueur = LIBELLES[acte.decision] || acte.decision;
      const operateur = acte.operateur
        ? " — décision " + (LIBELLES[acte.operateur.decision] || "rendue à la chaîne") + " par " +
          acte.operateur.modifie_par + (acte.operateur.appliquee ? "" : " (application en cours)")
        : "";
      corps.append(element("tr", { "data-id-d": acte.id_d },
        element("td", {}, element("label", { for: "choix-" + ident, class: "sr-only",
          text: "Sélectionner l'acte " + acte.numero }), coche),
        element("th", { scope: "row" }, element("span", { text: acte.numero }), element("br"),
          element("span", { class: "discret", text: acte.date + " · " + acte.nature_libelle + " · " + acte.coll_nom })),
        element("td", { text: acte.objet }),
        element("td", { text: vigueur + operateur }),
        element("td", {}, documents),
        element("td", {}, element("div", { class: "pile" },
          element("label", { for: "decision-" + ident, text: "Décision" }), choix,
          element("label", { for: "motif-" + ident, text: "Motif" }), motif, enregistrer))));
    }
    if (!page.data.length) {
      corps.append(element("tr", {}, element("td", { colspan: 6, text: "Aucun acte." })));
    }
  }

  async function decider(cle, decision, motif) {
    const acte = lignes.get(cle);
    if (!motif.trim()) {
      statut("Indiquez un motif avant d'enregistrer.", "erreur");
      return;
    }
    const headers = { "Content-Type": "application/json" };
    if (acte.etag) headers["If-Match"] = acte.etag;
    else headers["If-None-Match"] = "*";
    try {
      await api("/actes/" + cle + "/decision", { method: "PUT", headers, body: JSON.stringify({ decision, motif }) });
      await chargerFile();
      statut("Décision « " + LIBELLES[decision] + " » enregistrée pour l'acte " + acte.numero +
        " ; la chaîne l'applique dans quelques minutes.", "ok");
      $("#statut").focus();
    } catch (error) {
      statut(error.message, "erreur");
      $("#statut").focus();
    }
  }

  async function decideLot() {
    const motif = $("#lot-motif").value.trim();
    const coches = Array.from(document.querySelectorAll("#actes tbody input[type=checkbox]:checked"));
    if (!coches.length || !motif) {
      statut("Cochez au moins un acte et indiquez un motif.", "erreur");
      return;
    }
    const decision = $("#lot-decision").value;
    const items = coches.map((c) => {
      const acte = lignes.get(c.getAttribute("data-cle"));
      return { siren: acte.siren, id_e: acte.id_e, id_d: acte.id_d, decision, etag: acte.etag };
    });
    const id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now());
    try {
      const out = await api("/decisions", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ client_request_id: id, motif, items }) });
      await chargerFile();
      statut(out.appliques + " acte(s) décidé(s), " + out.conflits + " modifié(s) entre-temps.", out.conflits ? "erreur" : "ok");
      $("#statut").focus();
    } catch (error) {
      statut(error.message, "erreur");
    }
  }

  async function chargerAnnexes(acte) {
    try {
      const detail = await api("/actes/" + acte.siren + "/" + acte.id_e + "/" + acte.id_d);
      const liste = $("#annexes");
      liste.replaceChildren();
      for (const annexe of detail.annexes) {
        const etat = annexe.operateur === null ? "selon les réglages" : (annexe.operateur ? "publiée" : "retenue");
        const motif = element("input", { id: "motif-annexe-" + annexe.rang, maxlength: 500 });
        const ligne = element("li", {}, element("span", { text: annexe.nom + " — " + etat + " " }),
          element("label", { for: "motif-annexe-" + annexe.rang, text: "Motif" }), motif);
        for (const publier of [true, false]) {
          const bouton = element("button", { type: "button", class: "secondaire",
            text: publier ? "Publier l'annexe" : "Retenir l'annexe" });
          bouton.addEventListener("click", async () => {
            const headers = { "Content-Type": "application/json" };
            if (annexe.etag) headers["If-Match"] = annexe.etag;
            else headers["If-None-Match"] = "*";
            try {
              await api("/actes/" + acte.siren + "/" + acte.id_e + "/" + acte.id_d + "/annexes/" + annexe.rang,
                { method: "PUT", headers, body: JSON.stringify({ publier, motif: motif.value }) });
              statut("Annexe « " + annexe.nom + " » : décision enregistrée.", "ok");
              chargerAnnexes(acte);
            } catch (error) {
              statut(error.message, "erreur");
            }
          });
          ligne.append(" ", bouton);
        }
        liste.append(ligne);
      }
      $("#titre-detail").textContent = "Annexes de l'acte " + acte.numero;
      $("#detail").hidden = false;
      $("#titre-detail").focus();
    } catch (error) {
      statut(error.message, "erreur");
    }
  }

  // ---------------------------------------------------------------------------- switches
  let reglagesEtag = null;

  async function lireReglages() {
    const siren = $("#reglages-siren").value.trim();
    try {
      const vue = await api("/collectivites/" + encodeURIComponent(siren) + "/reglages");
      reglagesEtag = vue.etag;
      for (const nom of ["open_data", "documents", "annexes"]) {
        const valeur = vue.back_office ? vue.back_office[nom] : null;
        $("#reglage-" + nom).value = valeur === null || valeur === undefined ? "" : String(valeur);
      }
      const csv = Object.entries(vue.fichier_csv).filter(([, v]) => v !== null).map(([k, v]) => k + " = " + (v ? "oui" : "non"));
      $("#reglages-csv").textContent = csv.length
        ? "Le fichier de l'OPSN fixe : " + csv.join(", ") + " (un « non » du fichier l'emporte)."
        : "Aucune valeur dans le fichier de l'OPSN.";
      $("#reglages-valeurs").hidden = false;
      statut("Réglages chargés.", "ok");
    } catch (error) {
      statut(error.message, "erreur");
    }
  }

  async function enregistrerReglages(event) {
    event.preventDefault();
    const siren = $("#reglages-siren").value.trim();
    const valeur = (nom) => { const v = $("#reglage-" + nom).value; return v === "" ? null : v === "true"; };
    const headers = { "Content-Type": "application/json" };
    if (reglagesEtag) headers["If-Match"] = reglagesEtag;
    else headers["If-None-Match"] = "*";
    try {
      const out = await api("/collectivites/" + encodeURIComponent(siren) + "/reglages", { method: "PUT", headers,
        body: JSON.stringify({ open_data: valeur("open_data"), documents: valeur("documents"),
          annexes: valeur("annexes"), motif: $("#reglages-motif").value }) });
      reglagesEtag = out.etag;
      statut("Réglages enregistrés ; la chaîne les applique dans quelques minutes.", "ok");
    } catch (error) {
      statut(error.message, "erreur");
    }
  }

  // ----------------------------------------------------------------------------- journal
  function resume(valeurs) {
    if (!valeurs) return "—";
    return Object.entries(valeurs).filter(([k, v]) => v !== null && k !== "sha256")
      .map(([k, v]) => k + " : " + (v === true ? "oui" : v === false ? "non" : v)).join(" ; ") || "—";
  }

  async function chargerJournal() {
    try {
      const page = await api("/journal");
      const corps = $("#table-journal tbody");
      corps.replaceChildren();
      for (const entree of page.data) {
        const quoi = entree.action.replace("_", " ") + " — " + entree.siren +
          (entree.numero ? " acte " + entree.numero : "") + (entree.rang !== null ? " annexe " + entree.rang : "");
        corps.append(element("tr", {},
          element("td", { text: new Date(entree.horodatage).toLocaleString("fr-FR") }),
          element("td", { text: entree.auteur.nom || entree.auteur.sub }),
          element("td", { text: quoi }),
          element("td", { text: resume(entree.avant) }),
          element("td", { text: resume(entree.apres) }),
          element("td", { text: entree.motif })));
      }
      if (!page.data.length) corps.append(element("tr", {}, element("td", { colspan: 6, text: "Aucune modification." })));
      statut(page.data.length + " modification(s) dans le journal.", "ok");
    } catch (error) {
      statut(error.message, "erreur");
    }
  }

  // ------------------------------------------------------------------------------ start
  async function demarrer() {
    config = await (await fetch("config.json", { headers: { Accept: "application/json" } })).json();
    const base = location.origin + config.api + "/";
    manager = new oidc.UserManager({
      authority: config.authority,
      client_id: config.client_id,
      redirect_uri: base,
      post_logout_redirect_uri: base,
      response_type: "code",
      scope: config.scope,
      userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
      automaticSilentRenew: false,
      loadUserInfo: false,
    });
    $("#connexion").addEventListener("click", () => manager.signinRedirect());
    $("#deconnexion").addEventListener("click", async () => { await manager.removeUser(); accueil(); });
    const query = new URLSearchParams(location.search);
    if (query.has("code") && query.has("state")) {
      try {
        await manager.signinRedirectCallback();
      } catch (error) {
        statut("Connexion refusée : " + error.message, "erreur");
      }
      history.replaceState(null, "", base);
    }
    const user = await manager.getUser();
    if (!user || user.expired) {
      accueil();
      return;
    }
    try {
      moi = await api("/moi");
    } catch (error) {
      statut(error.message, "erreur");
      accueil();
      return;
    }
    $("#utilisateur").textContent = (moi.nom || moi.sub) + (moi.admin ? " — administrateur OPSN" : " — " + moi.sirens.join(", "));
    $("#utilisateur").hidden = false;
    $("#deconnexion").hidden = false;
    $("#accueil").hidden = true;
    $("#application").hidden = false;
    if (!moi.admin && moi.sirens.length) $("#reglages-siren").value = moi.sirens[0];
    $("#onglet-file").addEventListener("click", () => onglet("file"));
    $("#onglet-reglages").addEventListener("click", () => onglet("reglages"));
    $("#onglet-journal").addEventListener("click", () => onglet("journal"));
    $("#filtres").addEventListener("submit", (event) => { event.preventDefault(); chargerFile(); });
    $("#lot-appliquer").addEventListener("click", decideLot);
    $("#reglages-lire").addEventListener("click", lireReglages);
    $("#form-reglages").addEventListener("submit", enregistrerReglages);
    await chargerFile();
    $("#titre").focus();
  }

  demarrer().catch((error) => statut("La page n'a pas pu démarrer : " + error.message, "erreur"));
})();
