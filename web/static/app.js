// The staff screens' only script, served by the app itself (the Content-Security-Policy allows no
// inline script): buttons marked data-action="print" print the page.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action=print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
