// The week timetable on a phone is a list of days: bring today into view (served by the app; the
// Content-Security-Policy allows no inline script).
(() => {
  const today = document.getElementById("today");
  if (today && window.matchMedia("(max-width: 640px)").matches) today.scrollIntoView({ block: "start" });
})();
