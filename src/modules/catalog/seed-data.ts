/**
 * Word lists of the demo catalog. Every leaf category knows what it sells, what it is made of,
 * how its variants differ and what it costs, so generated products read like a real shop's.
 */

export interface CategorySeed {
  handle: string;
  name: string;
  children?: CategorySeed[];
  leaf?: LeafSeed;
}

export interface LeafSeed {
  code: string;
  nouns: string[];
  materials: string[];
  /** The option that differs between variants (size, colour…) and its values. */
  axis: { name: string; values: string[] };
  /** A second, fixed option picked per product, e.g. the colour of an apparel item. */
  second?: { name: string; values: string[] };
  /** Price range in whole dollars. */
  price: [number, number];
  weight: [number, number];
  features: string[];
  extra?: (
    pick: <T>(list: T[]) => T,
    n: (min: number, max: number) => number,
  ) => Record<string, string | number | boolean>;
}

const sizes = { name: 'size', values: ['XS', 'S', 'M', 'L', 'XL', 'XXL'] };
const shoeSizes = { name: 'size', values: ['38', '39', '40', '41', '42', '43', '44', '45'] };
const colours = {
  name: 'color',
  values: ['Black', 'White', 'Navy', 'Olive', 'Grey', 'Sand', 'Burgundy', 'Sky Blue', 'Charcoal', 'Rust'],
};
const apparelFeatures = [
  'cut for an easy, relaxed fit',
  'finished with reinforced seams that last',
  'pre-washed so it keeps its shape',
  'soft from the first wear',
  'made in a small family-run mill',
  'breathable enough for warm days',
  'garment-dyed for a lived-in colour',
];
const fit = (pick: <T>(l: T[]) => T) => ({ fit: pick(['slim', 'regular', 'relaxed']) });

export const categorySeeds: CategorySeed[] = [
  {
    handle: 'apparel',
    name: 'Apparel',
    children: [
      {
        handle: 'men',
        name: 'Men',
        children: [
          {
            handle: 'mens-shirts',
            name: 'Shirts',
            leaf: {
              code: 'MSH',
              nouns: [
                'Shirt',
                'Oxford Shirt',
                'Flannel Shirt',
                'Linen Shirt',
                'Polo Shirt',
                'T-Shirt',
                'Henley',
              ],
              materials: ['Cotton', 'Organic Cotton', 'Linen', 'Chambray', 'Poplin', 'Jersey'],
              axis: sizes,
              second: colours,
              price: [24, 89],
              weight: [180, 320],
              features: apparelFeatures,
              extra: fit,
            },
          },
          {
            handle: 'mens-pants',
            name: 'Pants',
            leaf: {
              code: 'MPA',
              nouns: ['Chinos', 'Jeans', 'Trousers', 'Cargo Pants', 'Joggers', 'Shorts'],
              materials: ['Cotton Twill', 'Denim', 'Corduroy', 'Ripstop', 'Wool Blend', 'Fleece'],
              axis: { name: 'size', values: ['28', '30', '32', '34', '36', '38'] },
              second: colours,
              price: [39, 129],
              weight: [350, 750],
              features: apparelFeatures,
              extra: fit,
            },
          },
          {
            handle: 'mens-jackets',
            name: 'Jackets',
            leaf: {
              code: 'MJA',
              nouns: ['Jacket', 'Parka', 'Bomber Jacket', 'Field Jacket', 'Rain Shell', 'Overshirt'],
              materials: ['Waxed Cotton', 'Nylon', 'Wool', 'Recycled Polyester', 'Canvas', 'Down'],
              axis: sizes,
              second: colours,
              price: [79, 349],
              weight: [600, 1600],
              features: ['windproof and water-repellent', 'lined for cold mornings', ...apparelFeatures],
              extra: (pick) => ({ waterproof: pick([true, false]) }),
            },
          },
        ],
      },
      {
        handle: 'women',
        name: 'Women',
        children: [
          {
            handle: 'womens-dresses',
            name: 'Dresses',
            leaf: {
              code: 'WDR',
              nouns: ['Dress', 'Wrap Dress', 'Shirt Dress', 'Midi Dress', 'Slip Dress', 'Sundress'],
              materials: ['Linen', 'Viscose', 'Silk', 'Cotton Poplin', 'Tencel', 'Crepe'],
              axis: sizes,
              second: colours,
              price: [49, 189],
              weight: [220, 480],
              features: apparelFeatures,
              extra: (pick) => ({ length: pick(['mini', 'knee', 'midi', 'maxi']) }),
            },
          },
          {
            handle: 'womens-tops',
            name: 'Tops',
            leaf: {
              code: 'WTO',
              nouns: ['Blouse', 'Tank Top', 'T-Shirt', 'Sweater', 'Cardigan', 'Shirt'],
              materials: ['Cotton', 'Merino Wool', 'Cashmere', 'Linen', 'Silk', 'Jersey'],
              axis: sizes,
              second: colours,
              price: [22, 159],
              weight: [150, 420],
              features: apparelFeatures,
              extra: fit,
            },
          },
          {
            handle: 'womens-skirts',
            name: 'Skirts',
            leaf: {
              code: 'WSK',
              nouns: ['Skirt', 'Pleated Skirt', 'A-Line Skirt', 'Denim Skirt', 'Pencil Skirt'],
              materials: ['Denim', 'Wool', 'Cotton Twill', 'Corduroy', 'Satin'],
              axis: sizes,
              second: colours,
              price: [35, 119],
              weight: [200, 450],
              features: apparelFeatures,
            },
          },
        ],
      },
      {
        handle: 'footwear',
        name: 'Footwear',
        children: [
          {
            handle: 'sneakers',
            name: 'Sneakers',
            leaf: {
              code: 'SNK',
              nouns: ['Sneakers', 'Running Shoes', 'Court Shoes', 'Trail Runners', 'Slip-Ons'],
              materials: ['Leather', 'Suede', 'Canvas', 'Knit', 'Recycled Mesh'],
              axis: shoeSizes,
              second: colours,
              price: [59, 179],
              weight: [550, 950],
              features: ['cushioned for all-day comfort', 'with a grippy rubber sole', 'light on the foot'],
            },
          },
          {
            handle: 'boots',
            name: 'Boots',
            leaf: {
              code: 'BOO',
              nouns: ['Boots', 'Chelsea Boots', 'Hiking Boots', 'Work Boots', 'Ankle Boots'],
              materials: ['Full-Grain Leather', 'Suede', 'Nubuck', 'Waxed Leather'],
              axis: shoeSizes,
              second: { name: 'color', values: ['Brown', 'Black', 'Tan', 'Oxblood'] },
              price: [99, 289],
              weight: [900, 1800],
              features: [
                'Goodyear-welted so it can be resoled',
                'waterproof to the ankle',
                'broken in within days',
              ],
              extra: (pick) => ({ waterproof: pick([true, false]) }),
            },
          },
        ],
      },
    ],
  },
  {
    handle: 'home',
    name: 'Home',
    children: [
      {
        handle: 'kitchen',
        name: 'Kitchen',
        children: [
          {
            handle: 'cookware',
            name: 'Cookware',
            leaf: {
              code: 'CKW',
              nouns: ['Frying Pan', 'Saucepan', 'Dutch Oven', 'Stock Pot', 'Wok', 'Skillet'],
              materials: ['Cast Iron', 'Stainless Steel', 'Carbon Steel', 'Enamelled', 'Copper'],
              axis: { name: 'size', values: ['20 cm', '24 cm', '28 cm', '32 cm'] },
              price: [29, 249],
              weight: [900, 5200],
              features: [
                'works on every hob, induction included',
                'oven-safe to 260 °C',
                'heats evenly edge to edge',
              ],
              extra: (pick) => ({ induction: true, dishwasher_safe: pick([true, false]) }),
            },
          },
          {
            handle: 'tableware',
            name: 'Tableware',
            leaf: {
              code: 'TBW',
              nouns: ['Dinner Plate Set', 'Bowl Set', 'Mug', 'Serving Platter', 'Tumbler Set', 'Teapot'],
              materials: ['Stoneware', 'Porcelain', 'Glass', 'Earthenware', 'Bamboo'],
              axis: colours,
              price: [14, 119],
              weight: [300, 3200],
              features: [
                'glazed by hand, so no two are alike',
                'dishwasher and microwave safe',
                'stacks neatly',
              ],
              extra: (_pick, n) => ({ pieces: n(1, 12) }),
            },
          },
        ],
      },
      {
        handle: 'living',
        name: 'Living',
        children: [
          {
            handle: 'lighting',
            name: 'Lighting',
            leaf: {
              code: 'LGT',
              nouns: ['Table Lamp', 'Floor Lamp', 'Pendant Light', 'Desk Lamp', 'Wall Light'],
              materials: ['Brass', 'Oak', 'Linen Shade', 'Ceramic', 'Powder-Coated Steel'],
              axis: { name: 'finish', values: ['Black', 'White', 'Brass', 'Natural'] },
              price: [39, 399],
              weight: [800, 6000],
              features: [
                'takes a standard E27 bulb',
                'dimmable with a compatible bulb',
                'with a braided fabric cable',
              ],
              extra: (pick) => ({ dimmable: pick([true, false]) }),
            },
          },
          {
            handle: 'textiles',
            name: 'Textiles',
            leaf: {
              code: 'TXT',
              nouns: ['Throw Blanket', 'Cushion Cover', 'Duvet Cover', 'Bath Towel', 'Rug'],
              materials: ['Wool', 'Linen', 'Cotton', 'Mohair', 'Jute'],
              axis: colours,
              price: [19, 299],
              weight: [300, 4000],
              features: ['woven on traditional looms', 'softens with every wash', 'OEKO-TEX certified'],
            },
          },
        ],
      },
    ],
  },
  {
    handle: 'electronics',
    name: 'Electronics',
    children: [
      {
        handle: 'audio',
        name: 'Audio',
        children: [
          {
            handle: 'headphones',
            name: 'Headphones',
            leaf: {
              code: 'HPH',
              nouns: [
                'Headphones',
                'Earbuds',
                'Over-Ear Headphones',
                'Studio Monitors Headphones',
                'Sport Earphones',
              ],
              materials: ['Wireless', 'Noise-Cancelling', 'Bluetooth', 'Open-Back', 'Wired'],
              axis: { name: 'color', values: ['Black', 'White', 'Silver', 'Midnight Blue'] },
              price: [29, 399],
              weight: [40, 380],
              features: [
                'up to 30 hours of battery life',
                'with a detachable cable',
                'tuned for a balanced sound',
              ],
              extra: (pick, n) => ({ wireless: pick([true, false]), battery_hours: n(8, 40) }),
            },
          },
          {
            handle: 'speakers',
            name: 'Speakers',
            leaf: {
              code: 'SPK',
              nouns: ['Speaker', 'Bookshelf Speakers', 'Soundbar', 'Portable Speaker', 'Smart Speaker'],
              materials: ['Wireless', 'Bluetooth', 'Waterproof', 'Wi-Fi', 'Active'],
              axis: { name: 'color', values: ['Black', 'White', 'Walnut', 'Stone Grey'] },
              price: [49, 699],
              weight: [400, 9000],
              features: [
                'fills a room without distortion',
                'pairs with a second speaker for stereo',
                'splash-proof',
              ],
              extra: (_pick, n) => ({ wattage: n(5, 120) }),
            },
          },
        ],
      },
      {
        handle: 'electronics-accessories',
        name: 'Accessories',
        children: [
          {
            handle: 'chargers',
            name: 'Chargers',
            leaf: {
              code: 'CHG',
              nouns: ['USB-C Charger', 'Wireless Charger', 'Power Bank', 'Car Charger', 'Charging Dock'],
              materials: ['GaN', 'Fast', 'Compact', 'Dual-Port', 'Travel'],
              axis: { name: 'power', values: ['20 W', '45 W', '65 W', '100 W'] },
              price: [15, 129],
              weight: [60, 450],
              features: [
                'charges a laptop and phone at once',
                'folds flat for travel',
                'with over-heat protection',
              ],
            },
          },
          {
            handle: 'cables',
            name: 'Cables',
            leaf: {
              code: 'CBL',
              nouns: ['USB-C Cable', 'Lightning Cable', 'HDMI Cable', 'Audio Cable', 'Ethernet Cable'],
              materials: ['Braided', 'Reinforced', 'Flat', 'Coiled', 'Slim'],
              axis: { name: 'length', values: ['0.5 m', '1 m', '2 m', '3 m'] },
              price: [8, 39],
              weight: [20, 180],
              features: ['tested to 10,000 bends', 'with gold-plated connectors', 'supports fast charging'],
            },
          },
        ],
      },
    ],
  },
  {
    handle: 'sports',
    name: 'Sports & Outdoors',
    children: [
      {
        handle: 'camping',
        name: 'Camping',
        leaf: {
          code: 'CMP',
          nouns: ['Tent', 'Sleeping Bag', 'Camping Stove', 'Backpack', 'Headlamp', 'Water Bottle'],
          materials: ['Ultralight', 'Ripstop Nylon', 'Insulated', 'Titanium', 'All-Season'],
          axis: { name: 'color', values: ['Forest Green', 'Orange', 'Slate', 'Sand'] },
          price: [19, 499],
          weight: [150, 3500],
          features: ['packs down small', 'tested in the Alps', 'repairable in the field'],
          extra: (_pick, n) => ({ capacity_litres: n(1, 65) }),
        },
      },
      {
        handle: 'fitness',
        name: 'Fitness',
        leaf: {
          code: 'FIT',
          nouns: ['Yoga Mat', 'Kettlebell', 'Resistance Bands', 'Jump Rope', 'Dumbbell Set', 'Foam Roller'],
          materials: ['Natural Rubber', 'Cast Iron', 'Cork', 'Latex-Free', 'Vinyl'],
          axis: { name: 'color', values: ['Black', 'Teal', 'Coral', 'Lavender'] },
          price: [12, 199],
          weight: [200, 16000],
          features: ['non-slip on any floor', 'easy to wipe clean', 'built for daily training'],
        },
      },
    ],
  },
];

export const adjectives = [
  'Classic',
  'Everyday',
  'Heritage',
  'Essential',
  'Modern',
  'Vintage',
  'Premium',
  'Coastal',
  'Urban',
  'Alpine',
  'Nordic',
  'Weekend',
  'Signature',
  'Studio',
  'Field',
];

export const brands = [
  'Northwind',
  'Alder & Co',
  'Kestrel',
  'Bluefield',
  'Marlow',
  'Tidewater',
  'Copperleaf',
  'Ironbark',
  'Sable',
  'Juniper',
  'Fjordline',
  'Oakhurst',
];

export const openings = [
  'A {adjective} take on the {noun}, in {material}.',
  'Our {material} {noun}: the one you reach for first.',
  'Meet the {noun} by {brand} — {material}, and {feature}.',
  'The {adjective} {noun} in {material}, designed in-house by {brand}.',
];

export const closings = [
  'Backed by a two-year guarantee.',
  'Ships in plastic-free packaging.',
  'Free returns within 30 days.',
  'Made to be repaired, not replaced.',
  'Our customers’ favourite for three seasons running.',
];
