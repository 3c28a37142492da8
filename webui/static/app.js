// auditarchive — small comforts only; every page works without script.
document.addEventListener("keydown", (event) => {
  // "/" focuses the search box, as in most search tools.
  if (event.key !== "/" || /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) return;
  const box = document.querySelector("#q, .topsearch input");
  if (box) { event.preventDefault(); box.focus(); box.select(); }
});
document.addEventListener("DOMContentLoaded", () => {
  // Opening a document at a page: open that page's image and bring the page into view.
  const target = location.hash && document.querySelector(location.hash);
  if (target && target.classList.contains("page")) {
    const image = target.querySelector("details.image");
    if (image) image.open = true;
    target.scrollIntoView({ block: "start" });
  }
  // The sort menu applies at once.
  const sort = document.querySelector(".searchbar select[name=sort]");
  if (sort) sort.addEventListener("change", () => sort.form.submit());
});
