// Labelled utterances for the intent rules and keyword extraction (seed examples, many phrasings,
// tricky negatives), plus partial-transcript sequences (word-by-word prefixes) for the tracker tests.
import type { IntentLabel } from './labels.ts';

export interface CorpusCase {
  text: string;
  hasImage: boolean;
  label: IntentLabel;
  /** Phrases extractKeywords must return (for grounding labels). */
  keywords?: string[];
}

const I = true;
const N = false;
type Row = [string, boolean, IntentLabel, string[]?];

const ROWS: Row[] = [
  // seed examples
  ['segment the dog in this picture', I, 'segment', ['dog']],
  ['what is in this image?', I, 'vqa'],
  // segment
  ['segment the brown dog next to the car', I, 'segment', ['brown dog', 'car']],
  ['segmenting the dogs please', I, 'segment', ['dog']],
  ['can you segment the cat on the sofa', I, 'segment', ['cat', 'sofa']],
  ['cut out the cat', I, 'segment', ['cat']],
  ['cut the person out of the photo', I, 'segment', ['person']],
  ['outline the person', I, 'segment', ['person']],
  ['outline the red car', I, 'segment', ['red car']],
  ['trace the contour of the bottle', I, 'segment', ['bottle']],
  ['isolate the bird from the sky', I, 'segment', ['bird', 'sky']],
  ['extract the horse', I, 'segment', ['horse']],
  ['separate the man from the background', I, 'segment', ['man']],
  ['give me a segmentation of the trees', I, 'segment', ['tree']],
  ['I want a pixel level outline of the bicycle', I, 'segment', ['bicycle']],
  ['please segment every chair in the room', I, 'segment', ['chair', 'room']],
  ['segment the dog', N, 'segment', ['dog']],
  ['cut out the little girl with the umbrella', I, 'segment', ['little girl', 'umbrella']],
  ['crop out the laptop', I, 'segment', ['laptop']],
  ['outline both cats', I, 'segment', ['cat']],
  // mask
  ['draw a mask around the dog', I, 'mask', ['dog']],
  ['mask the sky', I, 'mask', ['sky']],
  ['make a mask of the person on the left', I, 'mask', ['person']],
  ['give me a binary mask for the cars', I, 'mask', ['car']],
  ['create masks for all the people', I, 'mask', ['person']],
  ['I need a mask of the white cup', I, 'mask', ['white cup']],
  ['mask out the road', I, 'mask', ['road']],
  ['generate a mask for the teddy bear', I, 'mask', ['teddy bear']],
  ['draw a mask around the little girl and her teddy bear', I, 'mask', ['little girl', 'teddy bear']],
  ['alpha matte of the woman', I, 'mask', ['woman']],
  ['masking the trucks', I, 'mask', ['truck']],
  ['mask the dog', N, 'mask', ['dog']],
  // detect
  ['find all the cars', I, 'detect', ['car']],
  ['where is the cup', I, 'detect', ['cup']],
  ['where are my keys', I, 'detect', ['key']],
  ['how many people are there', I, 'detect', ['person']],
  ['how many dogs are in the photo?', I, 'detect', ['dog']],
  ['detect the bicycles', I, 'detect', ['bicycle']],
  ['detect objects', I, 'detect'],
  ['box the traffic lights', I, 'detect', ['traffic light']],
  ['draw bounding boxes around the birds', I, 'detect', ['bird']],
  ['locate the stop sign', I, 'detect', ['stop sign']],
  ['count the apples', I, 'detect', ['apple']],
  ['highlight the two dogs', I, 'detect', ['dog']],
  ['point out the fire hydrant', I, 'detect', ['fire hydrant']],
  ['can you find the remote control', I, 'detect', ['remote control']],
  ['spot the cat', I, 'detect', ['cat']],
  ['show me all the bottles', I, 'detect', ['bottle']],
  ['circle the faces', I, 'detect', ['face']],
  ['find the yellow taxi', I, 'detect', ['yellow taxi']],
  ['detect the dogs', N, 'detect', ['dog']],
  ['look for a red backpack', I, 'detect', ['red backpack']],
  ['mark every person wearing a helmet', I, 'detect', ['person', 'helmet']],
  // inpaint
  ['remove the background', I, 'inpaint'],
  ['erase the person on the right', I, 'inpaint'],
  ['get rid of the power lines', I, 'inpaint'],
  ['remove the watermark', I, 'inpaint'],
  ['replace the sky with a sunset', I, 'inpaint'],
  ['delete the car from the photo', I, 'inpaint'],
  ['take out the trash can', I, 'inpaint'],
  ['inpaint the missing corner', I, 'inpaint'],
  ['erase the scratches', I, 'inpaint'],
  ['fill in the hole in the wall', I, 'inpaint'],
  ['swap the dog for a cat', I, 'inpaint'],
  ['clean up the blemishes on her face', I, 'inpaint'],
  // upscale
  ['make it sharper', I, 'upscale'],
  ['upscale this image', I, 'upscale'],
  ['enhance the resolution', I, 'upscale'],
  ['can you upscale it to 4k', I, 'upscale'],
  ['make the photo less blurry', I, 'upscale'],
  ['increase the resolution please', I, 'upscale'],
  ['sharpen the picture', I, 'upscale'],
  ['it is too pixelated, fix it', I, 'upscale'],
  ['make this picture hd', I, 'upscale'],
  ['super resolution on this one', I, 'upscale'],
  ['enhance it', I, 'upscale'],
  ['enlarge the image without losing quality', I, 'upscale'],
  // image_to_image
  ['turn this into a painting', I, 'image_to_image'],
  ['turn the photo into a cartoon', I, 'image_to_image'],
  ['make it look like a van gogh', I, 'image_to_image'],
  ['redo this in the style of monet', I, 'image_to_image'],
  ['convert this picture to anime', I, 'image_to_image'],
  ['transform it into a watercolor', I, 'image_to_image'],
  ['make me look like a superhero', I, 'image_to_image'],
  ['restyle this as a pencil sketch', I, 'image_to_image'],
  ['give me a variation of this image', I, 'image_to_image'],
  ['turn my dog into a lion', I, 'image_to_image'],
  ['repaint it in pixar style', I, 'image_to_image'],
  ['make this photo look more like a movie poster', I, 'image_to_image'],
  // text_to_image
  ['draw me a cat', N, 'text_to_image'],
  ['generate an image of a castle on a hill', N, 'text_to_image'],
  ['create a picture of a dragon flying over mountains', N, 'text_to_image'],
  ['draw a cat in the style of van gogh', N, 'text_to_image'],
  ['make an illustration of a robot reading a book', N, 'text_to_image'],
  ['paint a sunset over the ocean', N, 'text_to_image'],
  ['can you generate a logo for my bakery', N, 'text_to_image'],
  ['sketch a house with a red roof', N, 'text_to_image'],
  ['render a futuristic city at night', N, 'text_to_image'],
  ['I want a picture of a unicorn', N, 'text_to_image'],
  ['generate a photo of an astronaut riding a horse', N, 'text_to_image'],
  ['give me an image of a cozy cabin in the snow', N, 'text_to_image'],
  ['draw two dogs playing chess', N, 'text_to_image'],
  ['generate an image of a red bicycle', I, 'text_to_image'],
  // vqa
  ['what is in this image?', N, 'vqa'],
  ['what do you see', I, 'vqa'],
  ['describe the picture', I, 'vqa'],
  ['describe this', I, 'vqa'],
  ['what colour is the car?', I, 'vqa'],
  ['what color are her shoes', I, 'vqa'],
  ['is the dog sleeping?', I, 'vqa'],
  ['who is the man in the photo', I, 'vqa'],
  ['what breed is this dog', I, 'vqa'],
  ['what is happening here?', I, 'vqa'],
  ['tell me about this picture', I, 'vqa'],
  ['what does the sign say', I, 'vqa'],
  ['why is the boy crying', I, 'vqa'],
  ['what kind of bird is that', I, 'vqa'],
  ['is it raining in the picture', I, 'vqa'],
  ['explain this chart', I, 'vqa'],
  ['what is the woman holding?', I, 'vqa'],
  ['which team is winning', I, 'vqa'],
  ['does the cat look happy', I, 'vqa'],
  ['what time is it on the clock', I, 'vqa'],
  ['tell me about cats', I, 'vqa'],
  ['describe the scene in detail', I, 'vqa'],
  // caption
  ['caption this image', I, 'caption'],
  ['write a caption for this photo', I, 'caption'],
  ['give me alt text for the picture', I, 'caption'],
  ['write an instagram caption', I, 'caption'],
  ['suggest a title for this picture', I, 'caption'],
  ['captions please', I, 'caption'],
  ['describe the image in one sentence', I, 'caption'],
  ['caption it', I, 'caption'],
  // chat (including tricky negatives)
  ['I love my dog', N, 'chat'],
  ['I love my dog', I, 'chat'],
  ['tell me about cats', N, 'chat'],
  ['what is the capital of France?', N, 'chat'],
  ['hello how are you', N, 'chat'],
  ['tell me a joke', N, 'chat'],
  ['where is Paris', N, 'chat'],
  ['how many people live in Tokyo', N, 'chat'],
  ['what colour is the sky', N, 'chat'],
  ['describe a typical day of a nurse', N, 'chat'],
  ['write a poem about the sea', N, 'chat'],
  ['thanks, that was helpful', I, 'chat'],
  ['my cat likes to sleep on the sofa', N, 'chat'],
  ['why do dogs bark', N, 'chat'],
  ['what is the difference between a crocodile and an alligator', N, 'chat'],
  ['translate good morning into spanish', N, 'chat'],
  ['can you recommend a good book', N, 'chat'],
  ['I took this photo yesterday at the beach', N, 'chat'],
  ['the weather is lovely today', N, 'chat'],
  ['explain how photosynthesis works', N, 'chat'],
  ['what should I cook tonight', N, 'chat'],
  ['I feel tired', I, 'chat'],
  ['ok', N, 'chat'],
  ['find me a good restaurant nearby', N, 'chat'],
];

export const CORPUS: readonly CorpusCase[] = ROWS.map(([text, hasImage, label, keywords]) =>
  keywords === undefined ? { text, hasImage, label } : { text, hasImage, label, keywords });

export interface PartialSequence {
  /** Prefixes as an ASR would emit them, word by word. */
  partials: string[];
  hasImage: boolean;
  label: IntentLabel;
  /** The tracker must settle on `label` by this partial (0-based) and not leave it afterwards. */
  settleBy: number;
}

/** Word-by-word prefixes of an utterance. */
export function prefixes(text: string): string[] {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  return words.map((_, i) => words.slice(0, i + 1).join(' '));
}

const SEQ: [string, boolean, IntentLabel, number][] = [
  ['segment the dog in this picture', I, 'segment', 1],
  ['can you please cut out the cat on the left', I, 'segment', 5],
  ['what is in this image', I, 'vqa', 3],
  ['find all the cars in the parking lot', I, 'detect', 1],
  ['draw a mask around the little girl', I, 'mask', 3],
  ['how many people are standing near the bus', I, 'detect', 2],
  ['please remove the background from this photo', I, 'inpaint', 3],
  ['turn this photo into a watercolor painting', I, 'image_to_image', 4],
  ['generate an image of a castle on a hill', N, 'text_to_image', 4],
  ['I love my dog and my cat', N, 'chat', 1],
  ['write a caption for this photo', I, 'caption', 3],
  ['make it sharper please', I, 'upscale', 3],
];

export const PARTIAL_SEQUENCES: readonly PartialSequence[] = SEQ.map(([text, hasImage, label, settleBy]) => ({
  partials: prefixes(text),
  hasImage,
  label,
  settleBy,
}));
