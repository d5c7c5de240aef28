// Runs before the first paint (a classic script in <head>): applies the theme the user
// picked (light, dark or system) so a dark page never flashes light.
(function () {
  try {
    var theme = localStorage.getItem("tessera-theme");
    if (theme === "light" || theme === "dark" || theme === "system") {
      document.documentElement.setAttribute("data-theme", theme);
    }
  } catch (error) {
    /* storage blocked: follow the system */
  }
})();
