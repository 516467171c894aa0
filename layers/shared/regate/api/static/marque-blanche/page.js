// Rég@te white-label page: tells the embedding page its height (postMessage), nothing else. The page works
// without this script (server-rendered form and links).
(function () {
  "use strict";
  function send() {
    if (window.parent && window.parent !== window) {
      window.parent.postMessage({ type: "regate:height", height: document.documentElement.scrollHeight }, "*");
    }
  }
  window.addEventListener("load", send);
  if (window.ResizeObserver) {
    new ResizeObserver(send).observe(document.body);
  }
})();
