// The staff screens' only script, served by the app itself (the Content-Security-Policy allows no
// inline script): buttons marked data-action="print" print the page.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action=print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});

// A refused form (web/templating.py keeps it for one page) drawn without forms.html's macros:
// what was typed goes back, the message goes beside the field it names, which is marked invalid,
// described by the message and focused. Fields the macros drew already carry all of it.
document.addEventListener("DOMContentLoaded", () => {
  const main = document.querySelector("main[data-refused-form]");
  if (!main) return;
  const refused = JSON.parse(main.dataset.refusedForm);
  const form = [...document.forms].find(
    (f) => f.method === "post" && new URL(f.action, location.href).pathname === refused.action);
  if (!form) return;
  for (const [name, value] of Object.entries(refused.values)) {
    const control = form.elements.namedItem(name);
    if (!control || control instanceof RadioNodeList || ["hidden", "file", "password"].includes(control.type)) continue;
    if (control.type === "checkbox") control.checked = true;
    else control.value = value;
  }
  let first = null;
  for (const [name, message] of Object.entries(refused.errors)) {
    const control = form.elements.namedItem(name);
    if (!control || control instanceof RadioNodeList || control.getAttribute("aria-invalid") === "true") continue;
    const label = (control.id && form.querySelector(`label[for="${control.id}"]`)) || control.closest("label");
    const named = label ? label.textContent.trim() : control.getAttribute("aria-label") || control.placeholder || name;
    const note = document.createElement("p");
    note.className = "field-error";
    note.id = `${control.id || name}-error`;
    note.textContent = document.documentElement.lang === "zh-CN" ? `${named}：${message}` : `${named}: ${message}`;
    control.insertAdjacentElement("afterend", note);
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", note.id);
    first = first || control;
  }
  if (first) first.focus();
});
