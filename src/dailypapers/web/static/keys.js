// Keyboard shortcuts, a progressive enhancement (every page works without it):
// j / k: next / previous paper card; ← / →: the page's rel=prev / rel=next link; /: the search box.
// Keys typed into a form field, or pressed with Ctrl, Alt or Meta, are left alone.
(function () {
  "use strict";
  var CARD = "article.paper-card";

  function typing(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function move(step) {
    var cards = Array.prototype.slice.call(document.querySelectorAll(CARD));
    if (!cards.length) return;
    var now = document.querySelector(CARD + ".current");
    var active = document.activeElement && document.activeElement.closest && document.activeElement.closest(CARD);
    var i = cards.indexOf(active || now);
    i = i < 0 ? (step > 0 ? 0 : cards.length - 1) : Math.min(cards.length - 1, Math.max(0, i + step));
    if (now) now.classList.remove("current");
    var card = cards[i];
    card.classList.add("current");
    var link = card.querySelector("h2.title a");
    if (link) link.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function follow(rel) {
    // the period navigation first (day, week, month), else a pager's link
    var link = document.querySelector(".period-nav a[rel~=" + rel + "]") || document.querySelector("a[rel~=" + rel + "]");
    if (link) window.location.href = link.href;
    return link;
  }

  function search() {
    var box = document.querySelector("main form.search input[type=search]") ||
              document.querySelector("form.search input[type=search]");
    if (box) { box.focus(); box.select(); }
    return box;
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.altKey || e.metaKey || typing(e.target)) return;
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "ArrowLeft": if (e.shiftKey || !follow("prev")) return; break;
      case "ArrowRight": if (e.shiftKey || !follow("next")) return; break;
      case "/": if (!search()) return; break;
      default: return;
    }
    e.preventDefault();
  });
})();
