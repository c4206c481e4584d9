// The SMTP sink lives with the other local services (the demo uses it too).
export * from '../../devtools/local-services/smtp-sink.js';
