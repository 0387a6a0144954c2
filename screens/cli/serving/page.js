// cloudtrail-wizard's addition to textual-serve's page: the keyboard goes to the wizard.
//
// The page opened with the keyboard focus on the page itself, outside the terminal, so
// every key did nothing until the visitor clicked into the wizard. This puts the focus in
// the terminal as soon as it exists, again whenever the session connects or draws, and
// when the tab or window is activated again; once the session has ended it goes to the
// Restart button, so Enter starts a new session (whose page gets the focus the same way).
(function () {
  "use strict";

  function terminalInput() {
    // xterm.js reads the keyboard through this hidden text area.
    return document.querySelector(".textual-terminal .xterm-helper-textarea");
  }

  function restartButton() {
    return document.querySelector(".closed-dialog button");
  }

  function focusWizard() {
    var target = document.body.classList.contains("-closed") ? restartButton() : terminalInput();
    if (target && document.activeElement !== target) {
      target.focus();
    }
  }

  window.addEventListener("load", function () {
    // textual-serve's own load handler, set before this one, has created the terminal.
    focusWizard();
    // The body's classes change when the session connects, first draws, and ends.
    new MutationObserver(focusWizard).observe(document.body, {
      attributes: true,
      attributeFilter: ["class"],
    });
  });

  // Back in this tab or window: the keys go to the wizard again.
  window.addEventListener("focus", focusWizard);

  // A click beside the terminal must not leave the keyboard nowhere.
  document.addEventListener("mouseup", function (event) {
    var target = event.target;
    if (!(target instanceof Element) || !target.closest(".textual-terminal, button")) {
      focusWizard();
    }
  });
})();
