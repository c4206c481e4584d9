import { escapeHtml } from '../lib/format.js';

/** The few HTML pages of `tuojiang api` (acknowledgement), escaped (lib/format.ts). */
export const esc = escapeHtml;

export function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)}</title></head>` +
    `<body style="font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5">${body}</body></html>`
  );
}
