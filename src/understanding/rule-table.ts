// The weighted phrase patterns behind the rules classifier, written over lemmas (infinitive verbs,
// singular nouns, lower case, "colour" → "color"); compiled once at load.
import type { IntentLabel } from './labels.ts';

export interface Rule {
  label: IntentLabel;
  re: RegExp;
  weight: number;
}

const DET = '(?:a|an|the|this|that|it|some|my|his|her|their|your|all|every|each|any)';
const IMG = '(?:image|picture|photo|photograph|screenshot|shot|scene|frame|selfie|snapshot|chart|diagram|graph|plot|figure)';
const ART = '(?:painting|cartoon|sketch|drawing|anime|watercolor|oil|pixel art|comic|manga|illustration|pencil|charcoal|mosaic|pop art|impressionist|cubist|van gogh|monet|picasso|pixar|ghibli|claymation|lego|vintage|noir)';
const GEN = '(?:image|picture|photo|drawing|illustration|logo|poster|wallpaper|icon|artwork|art|portrait|render|rendering)';

const TABLE: readonly [IntentLabel, string, number][] = [
  // segment
  ['segment', 'segment|segmentation|resegment', 3],
  ['segment', `cut out|cut ${DET}(?: [a-z]+){1,4} out|cut away`, 2.8],
  ['segment', 'outline|trace|contour|silhouette', 2.6],
  ['segment', 'isolate|extract|separate|crop out|clip out', 2.4],
  ['segment', 'pixel|pixel level|pixel wise|instance', 1],
  ['segment', 'select|pick out|lasso', 1.2],
  ['segment', 'region|area|shape of', 0.6],
  // mask
  ['mask', 'mask', 3.6],
  ['mask', 'matte|alpha channel|stencil|cutout mask|binary', 2.4],
  // detect
  ['detect', 'detect|detection|detector', 3],
  ['detect', 'find|locate|spot|search for|look for', 2.3],
  ['detect', 'where is|where do|where can', 2.8],
  ['detect', 'how many|count|number of', 3],
  ['detect', 'box|bounding|bbox|rectangle', 2.6],
  ['detect', 'point out|point to|point at|highlight|mark|circle|pinpoint|tag', 2],
  ['detect', `identify ${DET}|identify all|label ${DET}`, 1.6],
  ['detect', `show me (?:all|every|each|where)`, 1.2],
  ['detect', 'is there any|are there any|any [a-z]+ in', 0.4],
  // inpaint
  ['inpaint', 'inpaint|inpainting|erase|eraser|rub out|paint out|paint over', 3],
  ['inpaint', 'remove|get rid of|take out|delete|wipe|clean up|clear out', 2.6],
  ['inpaint', `replace ${DET}|replace [a-z]+ with|swap ${DET}|swap out|fill in|fill the`, 2.4],
  ['inpaint', `change ${DET} (?:background|sky|color of|wall)|add ${DET} [a-z]+ to ${DET}`, 1.8],
  ['inpaint', `out of ${DET} ${IMG}`, 2.4],
  ['inpaint', 'background|blemish|watermark|photobomber|scratch', 0.6],
  // upscale
  ['upscale', 'upscale|upsample|super resolution|superres|upres', 3.5],
  ['upscale', 'enhance|sharpen|sharp|deblur|unblur|denoise|crisp|less blurry|not blurry|clear', 2.4],
  ['upscale', 'resolution|high res|hi res|hd|4k|8k|full hd|pixelated|pixelate|pixellated|grainy|blurry|fuzzy', 1.6],
  ['upscale', 'enlarge|big|bigger|increase the size|magnify|zoom', 1.4],
  ['upscale', 'quality|detail|restore|improve', 0.9],
  // image_to_image
  ['image_to_image', `turn ${DET}(?: [a-z]+){0,3} into|turn (?:me|us|him|her) into`, 3],
  ['image_to_image', `make ${DET}(?: [a-z]+){0,2} look like|make (?:me|us|him|her) look|look more like`, 3],
  ['image_to_image', `in the style of|style of|restyle|stylize|style transfer|as ${DET}? ?${ART}`, 2.6],
  ['image_to_image', `convert ${DET}(?: [a-z]+){0,2} (?:to|into)|transform|reimagine|variation|redraw|repaint|remix`, 2.5],
  ['image_to_image', `${ART}`, 0.8],
  ['image_to_image', `same ${IMG}|based on ${DET} ${IMG}|from ${DET} ${IMG}|version of ${DET}`, 0.8],
  // text_to_image
  ['text_to_image', `draw(?: me| us)? (?:a|an|some|my|two|three)(?! (?:mask|box|bounding|outline|circle|line|border|rectangle|contour))|draw me|(?:sketch|render|illustrate)(?: me)? (?:a|an)|paint(?: me)? (?:a|an|some)`, 3],
  ['text_to_image', `(?:generate|create|make|produce|design|render|give)(?: me| us)? (?:a|an|some|one|my)(?: new)? ${GEN}`, 3.6],
  ['text_to_image', `${GEN} of (?:a|an|some)`, 1.8],
  ['text_to_image', 'generate|render|imagine|visualize|illustrate|dream up', 1.2],
  ['text_to_image', 'text to image|txt2img|stable diffusion|midjourney|dall e|sdxl', 3],
  // vqa
  ['vqa', `what is in ${DET} ${IMG}|what is on ${DET} ${IMG}|what do you see|what can you see|what is go on|what is happen`, 3.2],
  ['vqa', `describe|explain ${DET} ${IMG}|explain (?:this|that|it)|tell me about|tell me what|what is this|what is that|what is it`, 2.3],
  ['vqa', 'what color|which color|what kind of|what type of|what breed|what brand|what time|what does it say|read the', 2.2],
  ['vqa', `in ${DET} ${IMG}|${DET} ${IMG}|you see|visible|look at`, 0.9],
  ['vqa', 'is (?:the|this|that|it|there)|do (?:the|this|you)|can you tell|who is|what is|why is|which', 0.6],
  // caption
  ['caption', 'caption|alt text|alt tag|alternative text', 3.8],
  ['caption', `title for|a title|headline|one sentence|one line|short description|brief description|briefly|summarize ${DET} ${IMG}`, 3.6],
  ['caption', 'instagram|tweet|hashtag|describe it briefly|in a few word', 1.2],
  // chat
  ['chat', 'joke|poem|story|recipe|email|essay|code|translate|weather|news|advice|opinion|feel|think|love|hate', 1.2],
  ['chat', 'hello|hi|hey|thank|thanks|goodbye|bye|how is you|how do you do|who is you|your name', 1.5],
  ['chat', 'capital of|history of|meaning of|definition|difference between|why do|what is the best|recommend', 1],
];

export const RULES: readonly Rule[] = TABLE.map(([label, pattern, weight]) => ({
  label,
  re: new RegExp(`(?:^| )(?:${pattern})(?= |$)`),
  weight,
}));
