/** The few HTML pages of `tuojiang api` (acknowledgement), escaped. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)}</title></head>`
    + `<body style="font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5">${body}</body></html>`;
}
