// A PDF version drawn with the vendored pdf.js (static/vendor/pdfjs), one canvas per page,
// rendered only when the page comes near the screen; comments pinned to a point of a page
// (`page` from 1, `x`, `y` in 0..1 of its width and height, from the top left) are numbered
// pins. A click on a page picks the point of a new comment (`onPick(page, x, y)`).
import { h } from "./ui.js";

const PDFJS = "/static/vendor/pdfjs/pdf.min.mjs";
const WORKER = "/static/vendor/pdfjs/pdf.worker.min.mjs";

let pdfjsPromise = null;

function loadPdfjs() {
  if (!pdfjsPromise) {
    pdfjsPromise = import(PDFJS).then((pdfjs) => {
      pdfjs.GlobalWorkerOptions.workerSrc = WORKER; // a module worker from 'self'
      return pdfjs;
    });
    pdfjsPromise.catch(() => { pdfjsPromise = null; });
  }
  return pdfjsPromise;
}

export class PdfPins {
  constructor({ container, onPick, onPin }) {
    this.container = container;
    this.onPick = onPick || (() => {});
    this.onPin = onPin || (() => {});
    this.doc = null;
    this.task = null;
    this.pages = []; // [{number, el, canvas, pins, page, rendered, rendering, width}]
    this.comments = [];
    this.pick = null;
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const page = this.pages.find((p) => p.el === entry.target);
        if (page) {
          page.visible = entry.isIntersecting;
          if (entry.isIntersecting) this.render(page);
        }
      }
    }, { root: container, rootMargin: "600px 0px" }); // the pages scroll inside the container
    if (typeof ResizeObserver === "function") {
      let lastWidth = 0;
      new ResizeObserver(() => {
        const width = container.clientWidth;
        if (Math.abs(width - lastWidth) < 24) return;
        lastWidth = width;
        for (const page of this.pages) {
          if (page.rendered && Math.abs(page.width - width) >= 24) {
            page.rendered = false;
            if (page.visible) this.render(page);
          }
        }
      }).observe(container);
    }
  }

  /** Show the PDF at `url` (a version's content_url); resolves with its page count. */
  async load(url) {
    await this.close();
    this.container.setAttribute("aria-busy", "true");
    const pdfjs = await loadPdfjs();
    this.task = pdfjs.getDocument({ url, isEvalSupported: false });
    const doc = await this.task.promise;
    this.doc = doc;
    const pages = [];
    for (let number = 1; number <= doc.numPages; number += 1) {
      const page = await doc.getPage(number);
      if (this.doc !== doc) return 0; // another version was chosen meanwhile
      const viewport = page.getViewport({ scale: 1 });
      const canvas = h("canvas", { class: "pdf-canvas", "aria-hidden": "true" });
      const pins = h("div", { class: "pdf-pins" });
      const el = h("div", {
        class: "pdf-page",
        dataset: { page: number, rendered: "false" },
        role: "group",
        "aria-label": `Page ${number} of ${doc.numPages}: click to pin a comment here`,
      }, canvas, pins, h("span", { class: "pdf-page-number muted small", "aria-hidden": "true" }, `${number}`));
      el.style.aspectRatio = `${viewport.width} / ${viewport.height}`;
      const entry = { number, el, canvas, pins, page, rendered: false, rendering: null, width: 0, visible: false };
      el.addEventListener("click", (event) => {
        if (event.target.closest(".pdf-pin")) return;
        const rect = el.getBoundingClientRect();
        const x = Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
        const y = Math.max(0, Math.min(1, (event.clientY - rect.top) / rect.height));
        this.onPick(number, Number(x.toFixed(4)), Number(y.toFixed(4)));
      });
      pages.push(entry);
    }
    this.pages = pages;
    this.container.replaceChildren(...pages.map((p) => p.el));
    this.container.setAttribute("aria-busy", "false");
    for (const page of pages) this.observer.observe(page.el);
    this.drawPins();
    return doc.numPages;
  }

  async close() {
    for (const page of this.pages) this.observer.unobserve(page.el);
    this.pages = [];
    const doc = this.doc;
    const task = this.task;
    this.doc = null;
    this.task = null;
    try {
      if (doc) await doc.destroy();
      else if (task) await task.destroy();
    } catch { /* already gone */ }
  }

  async render(entry) {
    if (entry.rendered || entry.rendering) return entry.rendering;
    const width = this.container.clientWidth || entry.el.clientWidth;
    if (!width) return null;
    const ratio = window.devicePixelRatio || 1;
    const base = entry.page.getViewport({ scale: 1 });
    const viewport = entry.page.getViewport({ scale: (width * ratio) / base.width });
    const canvas = document.createElement("canvas");
    canvas.className = "pdf-canvas";
    canvas.setAttribute("aria-hidden", "true");
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    entry.rendering = entry.page.render({ canvas, viewport }).promise
      .then(() => {
        entry.canvas.replaceWith(canvas);
        entry.canvas = canvas;
        entry.rendered = true;
        entry.width = width;
        entry.el.dataset.rendered = "true";
      })
      .catch((err) => {
        if (!err || err.name !== "RenderingCancelledException") console.warn("pdf page render failed", err);
      })
      .finally(() => { entry.rendering = null; });
    return entry.rendering;
  }

  setComments(comments) {
    this.comments = comments.filter((c) => Number.isInteger(c.page));
    this.drawPins();
  }

  setPick(pick) {
    this.pick = pick && Number.isInteger(pick.page) ? pick : null;
    this.drawPins();
  }

  drawPins() {
    for (const entry of this.pages) {
      const pins = [];
      for (const comment of this.comments) {
        if (comment.page !== entry.number) continue;
        const pin = h("button", {
          type: "button",
          class: `pdf-pin${comment.resolved ? " is-resolved" : ""}`,
          dataset: { commentId: comment.id },
          title: `${comment.author ? comment.author.name : ""}: ${comment.body}`,
          "aria-label": `Comment ${comment.pinNumber || ""} on page ${comment.page} by ${comment.author ? comment.author.name : "someone"}`,
        }, String(comment.pinNumber || "•"));
        pin.style.left = `${comment.x * 100}%`;
        pin.style.top = `${comment.y * 100}%`;
        pin.addEventListener("click", (event) => {
          event.stopPropagation();
          this.onPin(comment);
        });
        pins.push(pin);
      }
      if (this.pick && this.pick.page === entry.number) {
        const pin = h("span", { class: "pdf-pin is-new", "aria-hidden": "true" }, "+");
        pin.style.left = `${this.pick.x * 100}%`;
        pin.style.top = `${this.pick.y * 100}%`;
        pins.push(pin);
      }
      entry.pins.replaceChildren(...pins);
    }
  }

  /** Bring a comment's pin into view and flash it. */
  showPin(comment) {
    const entry = this.pages.find((p) => p.number === comment.page);
    if (!entry) return;
    const pin = entry.pins.querySelector(`[data-comment-id="${comment.id}"]`);
    (pin || entry.el).scrollIntoView({ block: "center", behavior: "smooth" });
    if (pin) {
      pin.classList.remove("is-flash");
      void pin.offsetWidth;
      pin.classList.add("is-flash");
    }
  }
}
