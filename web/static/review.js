// The review page: sends drafts over one websocket while the person types, shows the
// worker's score (never an older one over a newer one), submits, and swaps brands.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const debounceMs = Number($("review-script").dataset.debounceMs || 150);
  const text = $("review-text"), submit = $("submit"), stars = [...document.querySelectorAll(".star")];
  const card = $("brand-card");
  let socket = null, retryMs = 500, seq = 0, shownSeq = -1, timer = null;
  let lastScore = null, suggested = null, picked = null, pendingBrand = null;

  function band(score) { return score >= 0.67 ? "good" : score <= 0.33 ? "bad" : "average"; }

  function showBrand(brand) {
    card.dataset.name = brand ? brand.name : "";
    $("brand-name").textContent = brand ? brand.name : "No brands yet";
    const link = $("brand-website");
    link.textContent = brand ? brand.website : "";
    link.href = brand && brand.website ? brand.website : "#";
    $("brand-category").textContent = brand ? [brand.category, brand.sub_category].filter(Boolean).join(" · ") : "";
    const avatar = $("brand-avatar"), logo = $("brand-logo");
    avatar.textContent = brand ? brand.initials : "?";
    avatar.style.background = brand && brand.colour ? brand.colour : "";
    if (brand && brand.logo) { logo.src = brand.logo; logo.hidden = false; avatar.hidden = true; }
    else { logo.hidden = true; logo.removeAttribute("src"); avatar.hidden = false; }
  }
  $("brand-logo").addEventListener("error", () => { $("brand-logo").hidden = true; $("brand-avatar").hidden = false; });

  async function anotherBrand() {
    const exclude = encodeURIComponent(card.dataset.name || "");
    try {
      const response = await fetch("/api/brands/random?exclude=" + exclude);
      if (response.ok) showBrand(await response.json());
    } catch (error) { showError("could not load a brand: " + error); }
  }

  function setStars(rating) {
    stars.forEach((star) => {
      const on = Number(star.dataset.rating) <= (rating || 0);
      star.classList.toggle("on", on);
      star.setAttribute("aria-checked", String(Number(star.dataset.rating) === rating));
    });
    $("stars").dataset.rating = rating || "";
  }

  function showSentence(line, mark, sentence) {
    $(line).hidden = !sentence;
    $(mark).textContent = sentence ? sentence.text : "";
    $(mark).title = sentence ? Math.round(sentence.score * 100) + "% on its own" : "";
  }

  // Why the score is what it is: the sentence that pulls it down most and the one that pulls it up most.
  function showWhy(message) {
    showSentence("why-down", "why-down-text", message.pulls_down);
    showSentence("why-up", "why-up-text", message.pulls_up);
    const more = message.sentences_left_out || 0;
    $("why-more").hidden = !more;
    $("why-more").textContent = more ? more + " later sentence" + (more > 1 ? "s" : "") + " not explained" : "";
    $("why").hidden = !(message.pulls_down || message.pulls_up || more);
  }

  // A language the model does not read: the reason in place of the bar, no score, no suggested stars.
  function showUnscored(reason) {
    lastScore = null; suggested = null;
    $("score-bar").closest(".score-row").hidden = Boolean(reason);
    $("unscored").hidden = !reason;
    $("unscored").textContent = reason || "";
    if (reason) { delete $("score-bar").dataset.score; $("why").hidden = true; if (picked === null) setStars(null); }
  }

  function showScore(message) {
    showUnscored(message.reason);
    if (message.reason) return;
    showWhy(message);
    lastScore = message.score; suggested = message.suggested_rating;
    const fill = $("score-fill");
    fill.style.width = (message.score * 100).toFixed(1) + "%";
    fill.className = "score-fill " + band(message.score);
    $("score-bar").dataset.score = String(message.score);
    $("score-value").textContent = Math.round(message.score * 100) + "%";
    $("score-label").textContent = message.label;
    if (picked === null) { setStars(suggested); $("rating-hint").textContent = "suggested rating"; }
  }

  function resetScore() {
    lastScore = null; suggested = null; picked = null; shownSeq = seq;
    $("score-fill").style.width = "0"; $("score-fill").className = "score-fill";
    delete $("score-bar").dataset.score;
    $("score-value").textContent = "–"; $("score-label").textContent = "";
    setStars(null); $("rating-hint").textContent = "suggested rating";
    showUnscored(null); $("why").hidden = true;
  }

  function showError(message) { const box = $("error"); box.textContent = message; box.hidden = !message; }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(message)); return true; }
    showError("not connected to the server; retrying…");
    return false;
  }

  function sendDraft() {
    timer = null;
    if (!text.value.trim()) return;
    seq += 1;
    send({ type: "draft", text: text.value, seq: seq, brand: card.dataset.name || "" });
  }

  function onMessage(event) {
    const message = JSON.parse(event.data);
    if (message.type === "score") {
      if (message.seq <= shownSeq || !text.value.trim()) return;  // stale: a newer score is on screen
      shownSeq = message.seq;
      showScore(message);
    } else if (message.type === "accepted") {
      const box = $("confirmation");
      box.hidden = false; box.dataset.id = message.id; box.dataset.state = "accepted";
      box.textContent = "Thanks! Your review of " + (pendingBrand || "the brand") + " was sent; scoring…";
      text.value = ""; submit.disabled = true; resetScore(); anotherBrand();
    } else if (message.type === "stored") {
      const box = $("confirmation");
      box.hidden = false; box.dataset.id = message.id; box.dataset.state = "stored";
      box.textContent = message.reason
        ? "Stored: your review of " + (message.brand || "the brand") + ", not scored: " + message.reason + "."
        : "Stored: your review of " + (message.brand || "the brand") + " scored " +
          Math.round(message.score * 100) + "% (" + message.label + "), suggested " + message.suggested_rating +
          "★, you gave " + (message.rating || "–") + "★.";
    } else if (message.type === "error") {
      showError(message.error);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws");
    socket.addEventListener("open", () => {
      retryMs = 500; $("connection").textContent = "live"; $("connection").dataset.state = "open"; showError("");
      if (text.value.trim()) sendDraft();
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", () => {
      $("connection").textContent = "reconnecting…"; $("connection").dataset.state = "closed";
      setTimeout(connect, retryMs); retryMs = Math.min(retryMs * 2, 10000);
    });
  }

  text.addEventListener("input", () => {
    submit.disabled = !text.value.trim();
    if (!text.value.trim()) { resetScore(); clearTimeout(timer); timer = null; return; }
    clearTimeout(timer);
    timer = setTimeout(sendDraft, debounceMs);
  });
  stars.forEach((star) => star.addEventListener("click", () => {
    picked = Number(star.dataset.rating); setStars(picked); $("rating-hint").textContent = "your rating";
  }));
  submit.addEventListener("click", () => {
    if (!text.value.trim()) return;
    pendingBrand = card.dataset.name || "";
    send({
      type: "submit", text: text.value, brand: pendingBrand, rating: picked || suggested,
      suggested_rating: suggested, sentiment_score: lastScore,
    });
  });
  $("another-brand").addEventListener("click", anotherBrand);

  showBrand(card.dataset.name ? {
    name: card.dataset.name, website: $("brand-website").textContent, logo: card.dataset.logo,
    colour: card.dataset.colour, initials: $("brand-avatar").textContent,
    category: $("brand-category").textContent,
  } : null);
  connect();
})();
